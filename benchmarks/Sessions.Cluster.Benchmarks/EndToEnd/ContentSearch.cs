using System.Diagnostics;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// Content search (issue 24's goal: p50 ≤ 50 ms, p99 ≤ 200 ms over 10,000 sessions, ≥ 50× <c>grep -r</c>): N copies of
/// a real 10 KB session, each with one more user message holding a word of its own and one of a hundred shared words,
/// imported into the embedded server (indexed behind the appends); then three kinds of query — a word of one session, a
/// word of 1 % of them, a phrase every session has — through <c>GET /v1/search</c> (first page of 20), against
/// <c>grep -rlw</c> (GNU grep, the files in the page cache) finding the files that hold the same words. Three rounds.
/// Run on the embedded server and on a one-node cluster (PostgreSQL full-text search, Azure append blobs on Azurite).
/// </summary>
internal sealed class ContentSearch(Driver driver, int sessionCount)
{
    public async Task RunAsync(Driver.Node node, string mode = "embedded")
    {
        var config = RepoPaths.TempDir("search-config");
        var dir = Path.Combine(config, "projects", "search-project");
        Directory.CreateDirectory(dir);
        var template = await File.ReadAllTextAsync(Path.Combine(RepoPaths.ClaudeFixtures, "projects", Driver.SmallProject, Driver.SmallSession + ".jsonl"));
        for (var i = 0; i < sessionCount; i++)
        {
            var id = Guid.NewGuid().ToString();
            var extra = $"{{\"type\":\"user\",\"uuid\":\"{Guid.NewGuid()}\",\"sessionId\":\"{id}\",\"timestamp\":\"2026-12-01T10:00:00.000Z\",\"message\":{{\"role\":\"user\",\"content\":\"remember token{i} and shared{i % 100}\"}}}}\n";
            await File.WriteAllTextAsync(Path.Combine(dir, id + ".jsonl"), template.Replace(Driver.SmallSession, id, StringComparison.Ordinal) + extra);
        }

        using var client = node.Client();
        var import = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Directory.EnumerateFiles(dir), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (file, _) =>
            await Driver.ImportAsync(client, file, "search-project", Path.GetFileNameWithoutExtension(file)));
        var imported = import.Elapsed;
        using var http = new HttpClient { BaseAddress = node.Url };
        var last = $"token{sessionCount - 1}";
        while (!(await http.GetStringAsync($"v1/search?q={last}")).Contains(last, StringComparison.Ordinal))
        {
            if (import.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new InvalidOperationException("The index did not catch up within 10 minutes.");
            }

            await Task.Delay(100);
        }

        var indexed = import.Elapsed;
        var queries = new (string Name, Func<int, string> Query, Func<int, string> Grep)[]
        {
            ("a word of one session", i => $"token{i * 37 % sessionCount}", i => $"token{i * 37 % sessionCount}"),
            ("a word of 1 % of the sessions", i => $"shared{i % 100}", i => $"shared{i % 100}"),
            ("a phrase every session has", _ => "\"project structure\"", _ => "project structure"),
        };
        foreach (var (name, query, grep) in queries)
        {
            var ours = new List<double>();
            var peer = new List<double>();
            for (var i = 0; i < 60; i++)
            {
                var clock = Stopwatch.StartNew();
                await http.GetByteArrayAsync("v1/search?limit=20&q=" + Uri.EscapeDataString(query(i)));
                ours.Add(clock.Elapsed.TotalMilliseconds);
                if (i % 4 == 0)
                {
                    peer.Add(await GrepAsync(grep(i), dir));
                }
            }

            ours = ours.Skip(6).ToList();
            var p50 = Stats.Median(ours);
            var p99 = Stats.Percentile(ours, 99);
            var grepMs = Stats.Median(peer);
            driver.Add($"content search, {name}, {sessionCount:N0} sessions, {mode} (first page of 20)", $"p50 {Stats.Ms(p50)}, p99 {Stats.Ms(p99)}",
                $"grep -rlw over the files {Stats.Ms(grepMs)}", grepMs / p50, "p50 ≤ 50 ms, p99 ≤ 200 ms, ≥ 50× grep", p50 <= 50 && p99 <= 200 && grepMs / p50 >= 50);
        }

        driver.Add($"import of {sessionCount:N0} sessions with content indexing, {mode}", Stats.Ms(imported.TotalMilliseconds),
            $"indexed {Stats.Ms(indexed.TotalMilliseconds)} after the import began", 10_000 / imported.TotalMilliseconds, "import ≤ 10 s", imported.TotalSeconds <= 10);
    }

    private static async Task<double> GrepAsync(string words, string dir)
    {
        var start = new ProcessStartInfo("grep") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-rlwiF", words, dir })
        {
            start.ArgumentList.Add(a);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return clock.Elapsed.TotalMilliseconds;
    }
}
