using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// Issue 25's bulk path as a user runs it: the built <c>sessions import</c> program copying a Claude Code folder of N
/// copies of a real 10 KB session into the server (embedded, durable, and a one-silo cluster over Azurite and
/// PostgreSQL, each its own process), against the SDK's own <c>importSessionToStore</c> of the same folder into the
/// reference-shaped PostgreSQL store (benchmarks/peers/pg-session-store.mjs, durable), 16 sessions at once on both sides.
/// Three rounds each, alternating, every round into a store of its own (a tenant; a database), after one untimed round
/// into each server (a fresh .NET process compiles its hot paths over its first thousands of requests).
/// </summary>
internal sealed class SessionsImport(Driver driver, int sessions)
{
    // The fixture session's cwd: the SDK finds a session under projects/<the cwd with every character but ASCII letters
    // and digits as '-'>, which is also the project key the CLI gives the folder's sessions.
    private const string Cwd = "/home/marco/projects/spotter";
    private const int Rounds = 3;

    private static string PeersDir => Path.Combine(RepoPaths.Root, "benchmarks", "peers");

    public async Task RunAsync(string batchesFile)
    {
        var config = await Driver.GenerateProjectAsync(sessions, Cwd.Replace('/', '-'));
        await NodeTools.EnsureInstalledAsync(PeersDir, "node_modules/pg/package.json");
        await using var postgres = await PostgresServer.StartNewAsync(durable: true);
        // The cluster's catalog in a PostgreSQL of its own, so its written-behind work never counts as the reference's.
        await using var catalog = await PostgresServer.StartNewAsync(durable: true);
        await using var azurite = await AzuriteServer.StartNewAsync();
        await using var embedded = await ServerProcess.StartAsync("import-embedded");
        await using var cluster = await ServerProcess.StartAsync("import-cluster", "--Sessions:Mode", "cluster", "--Sessions:Blob:ConnectionString", azurite.ConnectionString,
            "--Sessions:Postgres:ConnectionString", await catalog.CreateDatabaseAsync("catalog"),
            "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(CultureInfo.InvariantCulture), "--Sessions:Orleans:GatewayPort", "0", "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1");

        Console.WriteLine($"import: warming each store with one untimed import of {sessions:N0} sessions…");
        await ImportWithCliAsync(embedded, config, "warm");
        await ImportWithCliAsync(cluster, config, "warm");
        await ImportWithSdkAsync(postgres, config, batchesFile, "warm");

        // Wall ms of each round, and CPU ms per session.
        List<double> reference = [], referenceCpu = [], ours = [], oursCpu = [], clustered = [], clusterCpu = [];
        for (var round = 0; round < Rounds; round++)
        {
            Console.WriteLine($"import: round {round + 1} of {Rounds}…");
            var steps = new List<Func<Task>>
            {
                async () => Record(await Cpu(() => SdkStores.PostgresCpu(postgres.PostmasterPid), () => ImportWithSdkAsync(postgres, config, batchesFile, $"r{round}")), reference, referenceCpu),
                async () => Record(await Cpu(() => SdkStores.ProcessCpu(embedded.Id), () => ImportWithCliAsync(embedded, config, $"r{round}")), ours, oursCpu),
                async () => Record(await Cpu(() => SdkStores.ProcessCpu(cluster.Id), () => ImportWithCliAsync(cluster, config, $"r{round}")), clustered, clusterCpu),
            };
            foreach (var step in round % 2 == 0 ? steps : Enumerable.Reverse(steps))
            {
                await step();
            }
        }

        var peer = $"the SDK's importSessionToStore into the reference store {Spread(reference)}";
        foreach (var (mode, times, cpu) in new[] { ("embedded (durable)", ours, oursCpu), ("cluster, 1 silo (Azurite + PostgreSQL)", clustered, clusterCpu) })
        {
            // The goal, 10 s for 10,000 sessions, is 1 ms a session.
            var median = Stats.Median(times);
            driver.Add($"`sessions import` of {sessions:N0} sessions (10 KB each, 16 at once), {mode}", Spread(times), peer, Stats.Median(reference) / median,
                "≤ 10 s for 10,000 (issue 25)", median <= sessions);
            driver.Add($"{(mode.StartsWith("cluster", StringComparison.Ordinal) ? "silo CPU (Azurite's and PostgreSQL's not counted)" : "server CPU")} per imported session, " +
                $"{mode}, with the content index written behind", $"{Stats.Median(cpu):0.00} ms", $"reference's PostgreSQL {Stats.Median(referenceCpu):0.00} ms",
                Stats.Median(referenceCpu) / Stats.Median(cpu), "–", null);
        }
    }

    private static string Spread(List<double> ms) => $"{Stats.Ms(Stats.Median(ms))} (rounds {Stats.Ms(ms.Min())}–{Stats.Ms(ms.Max())})";

    private void Record((double Ms, double CpuMs) measured, List<double> times, List<double> cpu)
    {
        times.Add(measured.Ms);
        cpu.Add(measured.CpuMs / sessions);
    }

    // The run's wall time, and the store's CPU from its start until the store is idle again (under 2 % of a core over a
    // second, at most a minute after): the work written behind the import (the content index) is the import's too.
    private static async Task<(double Ms, double CpuMs)> Cpu(Func<TimeSpan> cpu, Func<Task> run)
    {
        await SdkStores.WaitIdleAsync(cpu);
        var before = cpu();
        var clock = Stopwatch.StartNew();
        await run();
        var ms = clock.Elapsed.TotalMilliseconds;
        await SdkStores.WaitIdleAsync(cpu);
        return (ms, (cpu() - before).TotalMilliseconds);
    }

    // The built `sessions import` into a tenant of its own; throws unless every session was imported.
    private async Task ImportWithCliAsync(ServerProcess server, string config, string tenant)
    {
        var psi = new ProcessStartInfo(HookPush.SessionsProgram()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "import", config, "--url", server.Url.ToString().TrimEnd('/'), "--tenant", "import-" + tenant, "--format", "json" })
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var summary = process.ExitCode == 0 ? JsonNode.Parse(await stdout) : null;
        if (summary?["sessions"]?.GetValue<int>() != sessions || summary["entriesAppended"]!.GetValue<int>() == 0)
        {
            throw new InvalidOperationException($"sessions import exited {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    // The SDK's importSessionToStore of every session of the folder into the reference store, in a database of its own.
    private async Task ImportWithSdkAsync(PostgresServer postgres, string config, string batchesFile, string database)
    {
        await postgres.CreateDatabaseAsync("import_" + database);
        var run = new JsonObject
        {
            ["store"] = "pg", ["target"] = $"postgresql://postgres@127.0.0.1:{postgres.Port}/import_{database}", ["durable"] = true,
            ["jsonl"] = Path.Combine(RepoPaths.ClaudeFixtures, "projects", Driver.BigProject, Driver.BigSession + ".jsonl"), ["batches"] = batchesFile,
            ["ops"] = new JsonArray("import"), ["importCwd"] = Cwd,
        };
        var (code, stdout, stderr) = await NodeTools.RunSplitAsync("node", PeersDir, new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = config }, "sdk-bench.mjs", run.ToJsonString());
        if (code != 0 || JsonNode.Parse(stdout)?["import"]?["sessions"]?.GetValue<int>() != sessions)
        {
            throw new InvalidOperationException($"sdk-bench.mjs import failed: {stdout}{stderr}");
        }
    }
}
