using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// The SessionStore comparison of issue 13: the SDK's own functions (<c>store.append</c> in its mirror batches,
/// <c>load</c>, <c>getSessionMessages</c>, <c>getSessionInfo</c>, <c>forkSession</c>, <c>listSessions</c>) driving our
/// <c>ClusterSessionStore</c> (embedded and cluster) and a store in the shape of the SDK's reference Postgres adapter
/// (benchmarks/peers/pg-session-store.mjs) in this one run, both durable (PostgreSQL with its default fsync and
/// synchronous commit), and the single-session append again with durability off on both sides.
/// </summary>
internal sealed class SdkStores(Driver driver, int sessions)
{
    private static readonly string[] AllOps = ["append1", "append16", "populate", "load", "messages", "info", "fork", "list"];
    private static string PeersDir => Path.Combine(RepoPaths.Root, "benchmarks", "peers");
    private static string AdapterDir => Path.Combine(RepoPaths.Root, "src", "claude-agent-sdk-store");
    private static string BigFile => Path.Combine(RepoPaths.ClaudeFixtures, "projects", Driver.BigProject, Driver.BigSession + ".jsonl");
    private static string SmallFile => Path.Combine(RepoPaths.ClaudeFixtures, "projects", Driver.SmallProject, Driver.SmallSession + ".jsonl");

    /// <summary>Measures every store and adds the rows. Our stores are the server as its own process (as the README runs
    /// it: its runtime settings, its CPU alone): embedded durable, embedded with <c>FlushToDisk=false</c>, and a one-silo
    /// cluster over Azurite and the same PostgreSQL.</summary>
    /// <param name="batchesFile">The mirror batches' sizes (JSON array), as the other workloads replay them.</param>
    public async Task RunAsync(string batchesFile)
    {
        await using var server = await ServerProcess.StartAsync("sdk-embedded");
        await using var serverNoSync = await ServerProcess.StartAsync("sdk-nosync", "--Sessions:FlushToDisk", "false");
        var (embedded, embeddedNoSync) = (server.Url, serverNoSync.Url);
        await NodeTools.EnsureInstalledAsync(PeersDir, "node_modules/pg/package.json");
        await NodeTools.EnsureInstalledAsync(AdapterDir, "node_modules/typescript/package.json");
        var (built, buildOutput) = await NodeTools.RunAsync("npm", AdapterDir, null, "run", "build");
        if (built != 0)
        {
            throw new InvalidOperationException($"Building the TypeScript adapter failed:\n{buildOutput}");
        }

        await using var postgres = await PostgresServer.StartNewAsync(durable: true);
        await postgres.CreateDatabaseAsync("reference");
        var referenceUrl = $"postgresql://postgres@127.0.0.1:{postgres.Port}/reference";
        var entries = JsonNode.Parse(await File.ReadAllTextAsync(batchesFile))!.AsArray().Sum(n => n!.GetValue<int>());

        Console.WriteLine($"SDK stores: the reference-shaped PostgreSQL store (durable), {sessions:N0} small sessions to list…");
        var reference = await MeasureAsync(new() { ["store"] = "pg", ["target"] = referenceUrl, ["durable"] = true }, batchesFile, AllOps);
        var referenceNoSync = await MeasureAsync(new() { ["store"] = "pg", ["target"] = referenceUrl, ["durable"] = false }, batchesFile, ["append1"]);
        Console.WriteLine("SDK stores: ours, embedded…");
        await WarmAsync(embedded, batchesFile);
        await WarmAsync(embeddedNoSync, batchesFile);
        var ours = await MeasureAsync(new() { ["store"] = "ours", ["target"] = Base(embedded), ["tenant"] = "sdk-embedded" }, batchesFile, AllOps);
        var oursNoSync = await MeasureAsync(new() { ["store"] = "ours", ["target"] = Base(embeddedNoSync), ["tenant"] = "sdk-nosync" }, batchesFile, ["append1"]);

        // CPU per acknowledged append (issue 25): the server's CPU time, user + sys of all its threads, over one run of
        // two replays of the mirror batches into new sessions (the warm-up and the timed one), per append. Ours is the
        // server's process; the reference's is its PostgreSQL instance: the postmaster, its live backends, and the
        // backends it reaped.
        Console.WriteLine("SDK stores: CPU per append…");
        var cpuRun = new JsonObject { ["bigSessionId"] = Driver.BigSession[..^4] + "c0c0" };
        var oursCpu = await CpuPerAppendAsync(() => ProcessCpu(server.Id), new() { ["store"] = "ours", ["target"] = Base(embedded), ["tenant"] = "sdk-cpu" }, batchesFile, cpuRun);
        var referenceCpu = await CpuPerAppendAsync(() => PostgresCpu(postgres.PostmasterPid), new() { ["store"] = "pg", ["target"] = referenceUrl, ["durable"] = true }, batchesFile, cpuRun);

        Console.WriteLine("SDK stores: ours, cluster (Azurite + the same PostgreSQL)…");
        await using var azurite = await AzuriteServer.StartNewAsync();
        var catalog = await postgres.CreateDatabaseAsync("catalog");
        JsonObject cluster;
        await using (var node = await ServerProcess.StartAsync("sdk-cluster", "--Sessions:Mode", "cluster", "--Sessions:Blob:ConnectionString", azurite.ConnectionString, "--Sessions:Postgres:ConnectionString", catalog,
            "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(CultureInfo.InvariantCulture), "--Sessions:Orleans:GatewayPort", "0", "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1"))
        {
            await WarmAsync(node.Url, batchesFile);
            cluster = await MeasureAsync(new() { ["store"] = "ours", ["target"] = Base(node.Url), ["tenant"] = "sdk-cluster" }, batchesFile, AllOps);
        }

        // What raw Append Block allows on the same Azurite for the same batches: one writer, and Writers writers at once.
        var rawOne = Peers.Numbers(await Peers.RunAsync(null, "blob-append", azurite.ConnectionString, "raw", BigFile, batchesFile), "latenciesMs");
        var rawMany = await Task.WhenAll(Enumerable.Range(0, Driver.Writers).Select(_ => Peers.RunAsync(null, "blob-append", azurite.ConnectionString, "raw", BigFile, batchesFile)));
        var rawManyMs = rawMany.Max(r => Peers.Numbers(r, "latenciesMs").Sum());

        var batches = JsonNode.Parse(await File.ReadAllTextAsync(batchesFile))!.AsArray().Count;
        // The disk's floor beside them (issue 25): each writer fdatasyncing its own preallocated file, one mirror batch
        // (the transcript's bytes over its batches) at a time, as entries per second; 3 rounds, the median.
        var batch = new byte[(int)(new FileInfo(BigFile).Length / batches)];
        var floorOne = await FloorEntriesAsync(1, batch, entries / (double)batches);
        var floorMany = await FloorEntriesAsync(Driver.Writers, batch, entries / (double)batches);
        AppendRow($"SDK append, 1 session ({batches} mirror batches of the 3 MB transcript), embedded", ours, reference, "append1", 1.5, floorOne);
        AppendRow($"SDK append, {Driver.Writers} sessions at once, embedded", ours, reference, "append16", 1.5, floorMany);
        AppendRow("SDK append, 1 session, durability off on both sides (FlushToDisk=false; synchronous_commit=off)", oursNoSync, referenceNoSync, "append1", 1.0, null);
        driver.Add("server CPU per SDK append (user + sys, all threads), embedded, durable", $"{oursCpu:0.000} ms",
            $"reference's PostgreSQL backends {referenceCpu:0.000} ms", referenceCpu / oursCpu, "≤ the reference's (issue 25)", oursCpu <= referenceCpu);
        var populate = Ms(reference, "populate") / Ms(ours, "populate");
        driver.Add($"SDK populate {sessions:N0} small sessions (one append each, 16 at once), embedded", Stats.Ms(Ms(ours, "populate")), $"reference {Stats.Ms(Ms(reference, "populate"))}", populate, "≥ 1.5× the reference (issue 25)", populate >= 1.5);

        var oneRate = Rate(cluster, "append1");
        var rawOneRate = entries / (rawOne.Sum() / 1000);
        driver.Add("SDK append, 1 session, cluster", Describe(cluster, "append1"), $"raw Append Block {rawOneRate:N0} entries/s (reference {Describe(reference, "append1")})", oneRate / rawOneRate, "≥ 0.9× raw Append Block", oneRate / rawOneRate >= 0.9);
        var manyRate = Rate(cluster, "append16");
        var rawManyRate = entries * Driver.Writers / (rawManyMs / 1000);
        driver.Add($"SDK append, {Driver.Writers} sessions at once, cluster", Describe(cluster, "append16"), $"raw Append Block, {Driver.Writers} writers {rawManyRate:N0} entries/s (reference {Rate(reference, "append16"):N0})", manyRate / rawManyRate, "≥ 1.2× raw Append Block (issue 25)", manyRate / rawManyRate >= 1.2);
        var clusterPopulate = Ms(reference, "populate") / Ms(cluster, "populate");
        driver.Add($"SDK populate {sessions:N0} small sessions, cluster", Stats.Ms(Ms(cluster, "populate")), $"reference {Stats.Ms(Ms(reference, "populate"))}", clusterPopulate, "–", null);

        foreach (var (op, name) in new[] { ("load", "store.load"), ("messages", "getSessionMessages"), ("info", "getSessionInfo"), ("fork", "forkSession"), ("forkMessages", "getSessionMessages of the fork") })
        {
            ReadRow($"SDK {name}, 3 MB session, embedded", ours, reference, op, 1.2);
            ReadRow($"SDK {name}, 3 MB hot session, cluster", cluster, reference, op, 1.0);
        }

        ReadRow($"SDK listSessions, {sessions:N0} sessions, embedded", ours, reference, "list", 40);
        ReadRow($"SDK listSessions, {sessions:N0} sessions, cluster", cluster, reference, "list", 40);
    }

    private void AppendRow(string workload, JsonObject ours, JsonObject reference, string op, double goal, string? floor)
    {
        var ratio = Rate(ours, op) / Rate(reference, op);
        driver.Add(workload, Describe(ours, op), $"reference {Describe(reference, op)}{(floor is null ? "" : "; " + floor)}", ratio,
            $"≥ {goal.ToString("0.0", CultureInfo.InvariantCulture)}× the reference", ratio >= goal);
    }

    // The fdatasync floor for `writers` writers of `batch`-sized appends, in entries per second (median of 3 rounds).
    private static async Task<string> FloorEntriesAsync(int writers, byte[] batch, double entriesPerBatch)
    {
        var rounds = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            rounds.Add(await JournalCommit.FloorAsync(RepoPaths.TempDir("sdk-floor"), writers, batch) * entriesPerBatch);
        }

        return $"floor: fdatasync of a preallocated file per writer {Stats.Median(rounds):N0} entries/s";
    }

    private void ReadRow(string workload, JsonObject ours, JsonObject reference, string op, double goal)
    {
        var ratio = Ms(reference, op) / Ms(ours, op);
        driver.Add(workload, Stats.Ms(Ms(ours, op)), $"reference {Stats.Ms(Ms(reference, op))}", ratio, $"≥ {goal.ToString("0.0", CultureInfo.InvariantCulture)}× the reference", ratio >= goal);
    }

    private static double Ms(JsonObject result, string op) => result[op]!["ms"]!.GetValue<double>();

    private static double Rate(JsonObject result, string op) => result[op]!["perSecond"]!.GetValue<double>();

    private static string Describe(JsonObject result, string op) =>
        $"{Rate(result, op):N0} entries/s, p50 {Stats.Ms(result[op]!["p50"]!.GetValue<double>())}, p99 {Stats.Ms(result[op]!["p99"]!.GetValue<double>())}";

    private static string Base(Uri url) => url.ToString().TrimEnd('/');

    // A fresh .NET process compiles its hot paths again (tiered JIT) over its first few thousand requests: each of our
    // servers is warmed, in a tenant of its own, like the long-running PostgreSQL it is measured against — 4 untimed
    // replays of the mirror batches and 2,000 new sessions (the populate's path: a grain activation each).
    private async Task WarmAsync(Uri server, string batchesFile)
    {
        for (var round = 0; round < 4; round++)
        {
            var warm = new JsonObject { ["bigSessionId"] = Driver.BigSession[..^4] + $"{round}{round}a0", ["sessions"] = 2_000 };
            await MeasureAsync(new() { ["store"] = "ours", ["target"] = Base(server), ["tenant"] = "sdk-warm" }, batchesFile, round == 0 ? ["append1", "populate"] : ["append1"], warm);
        }
    }

    // CPU ms per append of one append1 run (its warm-up replay included: two replays of the batches).
    private async Task<double> CpuPerAppendAsync(Func<TimeSpan> cpu, JsonObject config, string batchesFile, JsonObject overrides)
    {
        // Background work left by the runs before (the content index catching up on the sessions they wrote) is not
        // this run's.
        await WaitIdleAsync(cpu);
        var before = cpu();
        await MeasureAsync(config, batchesFile, ["append1"], overrides);
        var used = cpu() - before;
        var batches = JsonNode.Parse(await File.ReadAllTextAsync(batchesFile))!.AsArray().Count;
        return used.TotalMilliseconds / (2 * batches);
    }

    /// <summary>Waits until a process (its CPU so far: <paramref name="cpu"/>) uses under 2 % of a core over a second, at most a minute.</summary>
    internal static async Task WaitIdleAsync(Func<TimeSpan> cpu)
    {
        for (var waited = 0; waited < 60; waited++)
        {
            var start = cpu();
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (cpu() - start < TimeSpan.FromMilliseconds(20))
            {
                return;
            }
        }
    }

    // A process's CPU so far, all its threads: /proc/[pid]/stat utime + stime, in clock ticks.
    internal static TimeSpan ProcessCpu(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return Ticks(long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
    }

    // A PostgreSQL instance's CPU so far: the postmaster's own and its reaped children's (cutime + cstime), and each
    // live child's (/proc/[pid]/stat fields 14–17, in clock ticks).
    internal static TimeSpan PostgresCpu(int postmaster)
    {
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue; // exited meanwhile
            }

            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
            if (pid == postmaster || parent == postmaster)
            {
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }

            if (pid == postmaster)
            {
                ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
            }
        }

        return Ticks(ticks);
    }

    // Clock ticks as time: Linux's USER_HZ is 100 on every architecture .NET runs on.
    private static TimeSpan Ticks(long ticks) => TimeSpan.FromMilliseconds(ticks * 10.0);

    private async Task<JsonObject> MeasureAsync(JsonObject config, string batchesFile, string[] ops, JsonObject? overrides = null)
    {
        config["jsonl"] = BigFile;
        config["batches"] = batchesFile;
        config["bigSessionId"] = Driver.BigSession;
        config["small"] = SmallFile;
        config["smallSessionId"] = Driver.SmallSession;
        config["sessions"] = sessions;
        config["writers"] = Driver.Writers;
        config["ops"] = new JsonArray([.. ops.Select(o => (JsonNode)o)]);
        foreach (var (name, value) in overrides ?? [])
        {
            config[name] = value?.DeepClone();
        }

        var (code, stdout, stderr) = await NodeTools.RunSplitAsync("node", PeersDir, null, "sdk-bench.mjs", config.ToJsonString());
        return code == 0 ? (JsonObject)JsonNode.Parse(stdout)! : throw new InvalidOperationException($"sdk-bench.mjs ({config["store"]}) failed: {stderr}");
    }
}
