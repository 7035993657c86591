using BenchmarkDotNet.Running;
using Sessions.Cluster.Benchmarks.EndToEnd;
using Sessions.Cluster.Benchmarks.Micro;

namespace Sessions.Cluster.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project benchmarks/Sessions.Cluster.Benchmarks</c> runs the end-to-end comparison with the
/// peers (a table on stdout, also written to <c>benchmarks/results/latest.md</c>); add <c>-- micro</c> for the
/// BenchmarkDotNet micro benchmarks of the in-process paths (transcript reads, the console's Markdown).
/// </summary>
internal static class BenchmarkProgram
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0 && args[0] == "micro")
        {
            // Without a --filter of its own, every micro benchmark runs (BenchmarkSwitcher would otherwise ask).
            BenchmarkSwitcher.FromTypes([typeof(TranscriptBenchmarks), typeof(ConsoleMarkdownBenchmarks), typeof(ClientPipelineBenchmarks)]).Run(args.Length > 1 ? args[1..] : ["--filter", "*"]);
            return 0;
        }

        if (args.Length > 0 && args[0] is "--help" or "-h")
        {
            Console.WriteLine($"usage: Sessions.Cluster.Benchmarks [e2e [--sessions N] [--scale-sizes N,N,…] [--only {string.Join(',', Driver.Workloads)}]] | micro [BenchmarkDotNet options]");
            return 0;
        }

        var sessions = args.SkipWhile(a => a != "--sessions").Skip(1).Select(int.Parse).FirstOrDefault(10_000);
        var only = args.SkipWhile(a => a != "--only").Skip(1).Select(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet()).FirstOrDefault();
        if (only?.Except(Driver.Workloads).FirstOrDefault() is { } unknown)
        {
            await Console.Error.WriteLineAsync($"Unknown workload '{unknown}'; choose from {string.Join(", ", Driver.Workloads)}.").ConfigureAwait(false);
            return 2;
        }

        var scaleSizes = args.SkipWhile(a => a != "--scale-sizes").Skip(1).Select(a => a.Split(',').Select(int.Parse).Order().ToList()).FirstOrDefault();
        var driver = scaleSizes is null ? new Driver(sessions, only) : new Driver(sessions, only) { ScaleSizes = scaleSizes };
        var rows = await driver.RunAsync().ConfigureAwait(false);
        var table = Report.Markdown(rows);
        Console.WriteLine(table);
        var results = Path.Combine(Sessions.Cluster.Testing.RepoPaths.Root, "benchmarks", "results");
        Directory.CreateDirectory(results);
        await File.WriteAllTextAsync(Path.Combine(results, "latest.md"), Report.Machine() + "\n\n" + table).ConfigureAwait(false);
        return 0;
    }
}
