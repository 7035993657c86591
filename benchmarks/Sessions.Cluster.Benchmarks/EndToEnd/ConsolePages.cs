using System.Diagnostics;
using System.Text.Json;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// The web console's session page (issue 26's goals): the 3.1 MB fixture session's first page cold (the first view
/// after the server starts) and warm, its last page, what the model sees, a search inside it, and a session page in a
/// project of N sessions with forks (its lineage from the catalog's parent links). Times are the whole answer over
/// loopback (request sent to the last byte read), 3 rounds of 11 views each, min/median/max of the rounds' medians.
/// The peer is the floor of any reader of the same session: reading its JSONL file and parsing every line
/// (System.Text.Json), in this process, the file in the page cache.
/// </summary>
internal sealed class ConsolePages(Driver driver, int sessionCount)
{
    private const int Rounds = 3;
    private const int Views = 11;

    public async Task RunAsync(string bigFile)
    {
        var dataDir = RepoPaths.TempDir("bench-console");
        string[] args = ["--Sessions:DataDir", dataDir, "--Sessions:FlushToDisk", "false"];
        var config = await Driver.GenerateProjectAsync(sessionCount);
        string forkPage;
        await using (var loading = await Driver.NodeAsync(args))
        {
            using var client = loading.Client();
            await Driver.ImportAsync(client, bigFile, Driver.BigProject, Driver.BigSession);
            await Driver.ImportProjectAsync(client, config, "big-project");
            // Three forks of one session, one fork of a fork: a lineage to build.
            var parent = Path.GetFileNameWithoutExtension(Directory.EnumerateFiles(Path.Combine(config, "projects", "big-project")).First());
            var fork = await client.ForkAsync("big-project", parent, null, null, CancellationToken.None);
            await client.ForkAsync("big-project", parent, null, null, CancellationToken.None);
            await client.ForkAsync("big-project", parent, null, null, CancellationToken.None);
            var forkOfFork = await client.ForkAsync("big-project", fork, null, null, CancellationToken.None);
            forkPage = $"console/projects/big-project/sessions/{forkOfFork}";
        }

        // Cold: a new server on the same data, its first view of the page.
        await using var node = await Driver.NodeAsync(args);
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromMinutes(2) };
        var first = $"console/projects/{Driver.BigProject}/sessions/{Driver.BigSession}";
        var cold = await TimeAsync(http, first);

        var peer = Measure(() =>
        {
            var parsed = 0;
            foreach (var line in File.ReadLines(bigFile))
            {
                if (line.Length > 0)
                {
                    using var doc = JsonDocument.Parse(line);
                    parsed++;
                }
            }

            return Task.FromResult(parsed);
        });
        var peerMs = Stats.Median(await peer);
        var peerText = $"read + parse the JSONL file {Stats.Ms(peerMs)}";
        driver.Add("console: 3.1 MB session, first page, cold (first view after start)", Stats.Ms(cold), peerText, peerMs / cold, "≤ 1 s", cold <= 1000);

        var pages = new (string Name, string Path, double Goal)[]
        {
            ("3.1 MB session, first page, warm", first, 150),
            ("3.1 MB session, last page of the full history, warm", first + "?offset=100000", 300),
            ("3.1 MB session, what the model sees, warm", first + "?view=model", 300),
            ("3.1 MB session, search inside it ('compact'), warm", first + "?q=compact", 300),
            ($"session page (a fork of a fork) in a project of {sessionCount:N0} sessions, warm", forkPage, 100),
        };
        foreach (var (name, path, goal) in pages)
        {
            var rounds = await Measure(async () => (await http.GetByteArrayAsync(path)).Length, http, path);
            var median = Stats.Median(rounds);
            driver.Add($"console: {name}", $"{Stats.Ms(median)} (rounds {Stats.Ms(rounds.Min())}–{Stats.Ms(rounds.Max())})", peerText, peerMs / median, $"≤ {goal} ms", median <= goal);
        }
    }

    private static async Task<double> TimeAsync(HttpClient http, string path)
    {
        var clock = Stopwatch.StartNew();
        using var response = await http.GetAsync(path);
        await response.Content.ReadAsByteArrayAsync();
        response.EnsureSuccessStatusCode();
        return clock.Elapsed.TotalMilliseconds;
    }

    // The median of each of 3 rounds of 11 runs (after one untimed run, and a check that the page answers 200).
    private static async Task<List<double>> Measure(Func<Task<int>> run, HttpClient? http = null, string? path = null)
    {
        if (http is not null)
        {
            await TimeAsync(http, path!);
        }

        await run();
        var rounds = new List<double>();
        for (var round = 0; round < Rounds; round++)
        {
            var times = new List<double>();
            for (var i = 0; i < Views; i++)
            {
                var clock = Stopwatch.StartNew();
                await run();
                times.Add(clock.Elapsed.TotalMilliseconds);
            }

            rounds.Add(Stats.Median(times));
        }

        return rounds;
    }
}
