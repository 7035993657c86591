using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sessions.Cluster.Client;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// How cost grows with one tenant's size (issue 25 §5), embedded (SQLite) and a one-silo cluster (PostgreSQL, Azurite):
/// the tenant's catalog is grown to 10,000, 100,000 and 1,000,000 rows (beyond the real sessions the rows are
/// synthesized straight into the catalog: fresh sessions of one project with no transcript, already indexed). At each
/// size: the first page of the project's listing, <c>latest</c>, the project list, a title search, a content search for
/// a word of one session, the SDK's listing of the whole project (up to 100,000 rows), 200 appends to one session, and a
/// retention sweep of 2,000 real sessions that expired among them. Each figure is set against the same figure at the
/// first size (the ratio is how it holds up: 1.0 is flat, 0.1 ten times slower). Then the cluster again at the first
/// size with 1, 3 and 6 local silos (in this process, one cluster over one Azurite and one PostgreSQL), every request
/// sent to the next silo in turn, so most reach a silo that does not host the session's grain: each figure against the
/// same figure with 1 silo (on two cores the silos share the same CPUs, so this measures what more silos cost, the
/// directory and the calls between silos, not what they add).
/// </summary>
internal sealed class Scale(Driver driver, IReadOnlyList<int> sizes)
{
    /// <summary>The silo counts the cluster is measured with (issue 25 §5).</summary>
    internal static readonly IReadOnlyList<int> SiloCounts = [1, 3, 6];

    private const string Project = "scale";
    private const int Expiring = 2000;
    private const int Appends = 200;

    // Synthetic rows are written far in the future of the store's clock, so no sweep ever expires them.
    private static readonly long FutureMs = DateTimeOffset.UtcNow.AddYears(10).ToUnixTimeMilliseconds();

    public async Task RunAsync()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var data = RepoPaths.TempDir("bench-scale");
        await using (var node = await Driver.NodeAsync(["--Sessions:DataDir", data, "--Sessions:Retention:Enabled", "false"], clock))
        {
            var catalog = Path.Combine(data, "catalog.db");
            await RunAsync([node], clock, "embedded", sizes, new(), $"at {sizes[0]:N0} rows", (from, count) => SynthesizeSqliteAsync(catalog, from, count),
                () => Task.FromResult(new FileInfo(catalog).Length + (File.Exists(catalog + "-wal") ? new FileInfo(catalog + "-wal").Length : 0)));
        }

        // The figures of 1 silo at the first size are the baseline of both: the larger sizes, and more silos.
        var first = new Dictionary<string, double>();
        await RunClusterAsync(1, sizes, first, $"at {sizes[0]:N0} rows");
        foreach (var silos in SiloCounts.Where(n => n > 1))
        {
            await RunClusterAsync(silos, [sizes[0]], first, "with 1 silo");
        }
    }

    // A cluster of `silos` silos over a fresh Azurite and PostgreSQL, measured at `at`.
    private async Task RunClusterAsync(int silos, IReadOnlyList<int> at, Dictionary<string, double> first, string baseline)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var azurite = await AzuriteServer.StartNewAsync();
        await using var postgres = await PostgresServer.StartNewAsync();
        var database = await postgres.CreateDatabaseAsync("scale");
        var owner = $"Host=127.0.0.1;Port={postgres.Port};Username=postgres;Database=scale;Timeout=15;Command Timeout=0";
        var nodes = new List<Driver.Node>();
        try
        {
            for (var i = 0; i < silos; i++)
            {
                nodes.Add(await Driver.NodeAsync(["--Sessions:Mode", "cluster", "--Sessions:Blob:ConnectionString", azurite.ConnectionString,
                    "--Sessions:Postgres:ConnectionString", database, "--Sessions:Retention:Enabled", "false",
                    "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(CultureInfo.InvariantCulture), "--Sessions:Orleans:GatewayPort", "0",
                    "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1"], clock));
            }

            await WaitForSilosAsync(nodes[0], silos);
            await RunAsync(nodes, clock, $"cluster, {silos} silo{(silos == 1 ? "" : "s")}", at, first, baseline, (from, count) => SynthesizePostgresAsync(owner, from, count), async () =>
            {
                await using var connection = new NpgsqlConnection(owner);
                await connection.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT pg_total_relation_size('sessions') + pg_total_relation_size('summaries');", connection);
                return (long)(await cmd.ExecuteScalarAsync())!;
            });
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    // Waits until the cluster's membership shows every silo active.
    private static async Task WaitForSilosAsync(Driver.Node node, int silos)
    {
        var management = node.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        for (var wait = Stopwatch.StartNew(); (await management.GetHosts(onlyActive: true)).Count < silos;)
        {
            if (wait.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new InvalidOperationException($"{silos} silos did not join one cluster within 2 minutes.");
            }

            await Task.Delay(200);
        }
    }

    // The figures at each of `at`'s sizes, over `nodes` in turn, each against `first` (filled by the first run).
    private async Task RunAsync(IReadOnlyList<Driver.Node> nodes, FakeTimeProvider clock, string mode, IReadOnlyList<int> at, Dictionary<string, double> first, string baseline, Func<int, int, Task> synthesize, Func<Task<long>> catalogBytes)
    {
        var clients = nodes.Select(n => n.Client()).ToList();
        var https = nodes.Select(n => new HttpClient { BaseAddress = n.Url, Timeout = TimeSpan.FromMinutes(10) }).ToList();
        var turn = 0;
        SessionsClient Client() => clients[turn++ % clients.Count];
        HttpClient Http() => https[turn++ % https.Count];
        var (client, http) = (clients[0], https[0]);
        var synthesized = 0;
        var step = 0;
        foreach (var size in at)
        {
            step++;
            // Real sessions that will expire, each with a word of its own, written at the store's "now".
            var config = await GenerateAsync(step);
            var files = Directory.EnumerateFiles(config).Select((file, i) => (file, i));
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (f, _) =>
                await Driver.ImportAsync(clients[f.i % clients.Count], f.file, Project, Path.GetFileNameWithoutExtension(f.file)));

            var sw = Stopwatch.StartNew();
            var count = size - synthesized - Expiring - 1;
            await synthesize(synthesized, count);
            synthesized += count;
            Console.WriteLine($"Scale, {mode}: {size:N0} rows ({count:N0} synthesized in {sw.Elapsed.TotalSeconds:0.0} s).");

            var figures = new List<(string Name, string Shown, double Ms)>();
            async Task Read(string name, int n, string path)
            {
                var ms = await Driver.RepeatAsync(n, async () => (await Http().GetByteArrayAsync(path)).Length);
                figures.Add((name, Stats.Ms(ms), ms));
            }

            // The content index catches up behind the appends: wait for the last of these sessions before timing reads.
            var last = $"scaletoken{step}x{Expiring - 1}";
            for (var wait = Stopwatch.StartNew(); !(await http.GetStringAsync($"v1/search?q={last}")).Contains(last, StringComparison.Ordinal);)
            {
                if (wait.Elapsed > TimeSpan.FromMinutes(10))
                {
                    throw new InvalidOperationException($"The content index did not catch up at {size:N0} rows within 10 minutes.");
                }

                await Task.Delay(200);
            }

            await Read("first page of the project's listing (50)", 21, $"v1/projects/{Project}/sessions?limit=50");
            await Read("latest", 21, $"v1/projects/{Project}/sessions/latest");
            await Read("project list", 7, "v1/projects");
            await Read("title search", 7, "v1/sessions?q=prompt%204242");
            await Read("content search, a word of one session", 7, $"v1/search?q=scaletoken{step}x7");
            if (size <= 100_000)
            {
                await Read("SDK listing of the whole project (store/sessions)", 3, $"v1/projects/{Project}/store/sessions");
            }

            // Appends to one session, 3 entries each, one after the other.
            var latencies = new List<double>();
            string? parent = null;
            for (var i = 0; i < Appends; i++)
            {
                var batch = Enumerable.Range(0, 3).Select(_ =>
                {
                    var uuid = Guid.NewGuid().ToString();
                    var line = $"{{\"type\":\"user\",\"uuid\":\"{uuid}\",\"parentUuid\":{(parent is null ? "null" : $"\"{parent}\"")},\"sessionId\":\"append-target\",\"message\":{{\"role\":\"user\",\"content\":\"{new string('x', 300)}\"}}}}";
                    parent = uuid;
                    return line;
                }).ToList();
                var one = Stopwatch.StartNew();
                await Client().AppendLinesAsync(Project, "append-target", null, batch, null, CancellationToken.None);
                latencies.Add(one.Elapsed.TotalMilliseconds);
            }

            if (step == 1)
            {
                // Held, so the sweeps below leave it alone.
                using var hold = await http.PutAsync($"v1/projects/{Project}/sessions/append-target/hold", new StringContent("{\"reason\":\"benchmark\"}", System.Text.Encoding.UTF8, "application/json"));
                hold.EnsureSuccessStatusCode();
            }

            figures.Add(("append of 3 entries to one session, p50", Stats.Ms(Stats.Median(latencies)), Stats.Median(latencies)));

            // The sweeps: the real sessions written at this step are now past the default 30 days (nothing else is) and
            // go to the trash; 8 days later, past the default grace of 7, they are purged.
            async Task Sweep(string name, string field, TimeSpan advance)
            {
                clock.Advance(advance);
                sw.Restart();
                var report = (await client.SendJsonAsync(HttpMethod.Post, "v1/admin/retention/sweep", null, CancellationToken.None))!;
                var ms = sw.Elapsed.TotalMilliseconds;
                var swept = report[field]!.GetValue<int>();
                if (swept != Expiring || report["expired"]!.GetValue<int>() + report["purged"]!.GetValue<int>() != Expiring)
                {
                    throw new InvalidOperationException($"The sweep at {size:N0} rows answered {report.ToJsonString()}, not {Expiring} {field}.");
                }

                figures.Add((name, $"{Expiring / (ms / 60_000):N0} sessions/min", ms));
            }

            await Sweep($"retention sweep: {Expiring:N0} expired sessions to the trash", "expired", TimeSpan.FromDays(31));
            await Sweep($"retention sweep: {Expiring:N0} trashed sessions purged", "purged", TimeSpan.FromDays(8));

            foreach (var (name, shown, ms) in figures)
            {
                first.TryAdd(name, ms);
                driver.Add($"scale, {mode}, {size:N0} rows: {name}", shown, $"{baseline} {Stats.Ms(first[name])}", first[name] / ms, "–", null);
            }

            // What a row costs on disk: the session rows, their indexes and sidecars (SQLite: the whole file, messages too).
            var perRow = (double)await catalogBytes() / size;
            first.TryAdd("bytes", perRow);
            driver.Add($"scale, {mode}, {size:N0} rows: catalog bytes per session", $"{perRow:N0} B", $"{baseline} {first["bytes"]:N0} B", first["bytes"] / perRow, "–", null);
        }

        foreach (var one in clients)
        {
            one.Dispose();
        }

        foreach (var one in https)
        {
            one.Dispose();
        }
    }

    // Expiring copies of the real 10 KB session, each with a user message holding a word of its own.
    private static async Task<string> GenerateAsync(int step)
    {
        var dir = RepoPaths.TempDir($"scale-{step}");
        var template = await File.ReadAllTextAsync(Path.Combine(RepoPaths.ClaudeFixtures, "projects", Driver.SmallProject, Driver.SmallSession + ".jsonl"));
        for (var i = 0; i < Expiring; i++)
        {
            var id = Guid.NewGuid().ToString();
            var extra = $"{{\"type\":\"user\",\"uuid\":\"{Guid.NewGuid()}\",\"sessionId\":\"{id}\",\"timestamp\":\"2026-12-01T10:00:00.000Z\",\"message\":{{\"role\":\"user\",\"content\":\"remember scaletoken{step}x{i}\"}}}}\n";
            await File.WriteAllTextAsync(Path.Combine(dir, id + ".jsonl"), template.Replace(Driver.SmallSession, id, StringComparison.Ordinal) + extra);
        }

        return dir;
    }

    private static async Task SynthesizeSqliteAsync(string path, int from, int count)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Default Timeout=600");
        await connection.OpenAsync();
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync();
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            WITH RECURSIVE n(i) AS (SELECT @from UNION ALL SELECT i + 1 FROM n WHERE i < @to)
            INSERT INTO sessions (tenant, project_key, session_id, mtime, size, listed, summary, first_prompt, cwd, git_branch, created_at, is_sidechain, indexed_size)
            SELECT 'default', 'scale', printf('%08x-0000-4000-8000-%012x', i, i), @future + i, 1000, 1, 'synthetic session ' || i, 'prompt ' || i,
                   '/home/u/scale', 'main', @future + i, 0, 1000
            FROM n;
            """;
        cmd.Parameters.AddWithValue("@from", from);
        cmd.Parameters.AddWithValue("@to", from + count - 1);
        cmd.Parameters.AddWithValue("@future", FutureMs);
        await cmd.ExecuteNonQueryAsync();
        await tx.CommitAsync();
    }

    private static async Task SynthesizePostgresAsync(string owner, int from, int count)
    {
        await using var connection = new NpgsqlConnection(owner);
        await connection.OpenAsync();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO sessions (tenant, project_key, session_id, mtime, size, listed, summary, first_prompt, cwd, git_branch, created_at, is_sidechain, indexed_size)
            SELECT 'default', 'scale', lpad(to_hex(i), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(i), 12, '0'), @future + i, 1000, true,
                   'synthetic session ' || i, 'prompt ' || i, '/home/u/scale', 'main', @future + i, false, 1000
            FROM generate_series(@from::bigint, @to::bigint) AS i;
            ANALYZE sessions;
            """;
        cmd.Parameters.AddWithValue("from", (long)from);
        cmd.Parameters.AddWithValue("to", (long)(from + count - 1));
        cmd.Parameters.AddWithValue("future", FutureMs);
        await cmd.ExecuteNonQueryAsync();
    }
}
