using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Sessions.Cluster.Client;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// What a session costs in memory (issue 23's goal: "memory per hot 3 MB grain and the silo's RSS after touching 10,000
/// sessions"). A hot grain: a one-node cluster in this process over Azurite and PostgreSQL, its managed heap (after a
/// full, compacting collection) before and after eight copies of the 3 MB fixture session are read whole (load, messages,
/// info), so each grain holds its hot bytes and its answers; nothing else runs meanwhile. The silo: the embedded server
/// as its own process (as the README starts it), its resident memory (Linux VmRSS) when started and after N sessions
/// were written and each asked for its info (every one of their grains activated).
/// </summary>
internal sealed class Memory(Driver driver, int sessionCount)
{
    private const int HotSessions = 8;

    public async Task RunAsync(string bigFile)
    {
        await HotGrainsAsync(bigFile);
        await ManySessionsAsync();
    }

    private async Task HotGrainsAsync(string bigFile)
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        await using var postgres = await PostgresServer.StartNewAsync();
        var db = await postgres.CreateDatabaseAsync("memory");
        await using var node = await Driver.NodeAsync(["--Sessions:Mode", "cluster", "--Sessions:Blob:ConnectionString", azurite.ConnectionString, "--Sessions:Postgres:ConnectionString", db,
            "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--Sessions:Orleans:GatewayPort", "0",
            "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1"]);
        using var client = node.Client();
        var ids = Enumerable.Range(0, HotSessions).Select(i => $"hot-{i}").ToList();
        foreach (var id in ids)
        {
            await Driver.ImportAsync(client, bigFile, "memory", id);
        }

        // Written, then collected: the reads below activate each grain from storage, as a resume on a fresh silo does.
        await node.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var before = ManagedHeap();
        using var http = new HttpClient { BaseAddress = node.Url };
        foreach (var id in ids)
        {
            await http.GetByteArrayAsync($"v1/projects/memory/sessions/{id}/transcript");
            await http.GetByteArrayAsync($"v1/projects/memory/sessions/{id}/messages");
            await http.GetByteArrayAsync($"v1/projects/memory/sessions/{id}");
        }

        var perGrain = (ManagedHeap() - before) / (double)HotSessions;
        var transcript = new FileInfo(bigFile).Length;
        driver.Add($"managed memory per hot 3 MB session grain after load + messages + info, cluster ({HotSessions} grains)", $"{perGrain / 1048576:0.0} MiB",
            $"the transcript's own size {transcript / 1048576.0:0.0} MiB", transcript / perGrain, "bounded (the grain's hot bytes are capped at 32 MiB)", null);
    }

    private async Task ManySessionsAsync()
    {
        await using var server = await ServerProcess.StartAsync("bench-memory", "--Sessions:FlushToDisk", "false");
        using var client = new SessionsClient(new SessionsClientOptions { Url = server.Url, Timeout = TimeSpan.FromMinutes(5) });
        using var http = new HttpClient { BaseAddress = server.Url };
        var started = Driver.ProcStatusBytes(server.Id, "VmRSS:");
        var config = await Driver.GenerateProjectAsync(sessionCount);
        await Driver.ImportProjectAsync(client, config, "many");
        await Parallel.ForEachAsync(Directory.EnumerateFiles(Path.Combine(config, "projects", "big-project")), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (file, ct) =>
            (await http.GetAsync($"v1/projects/many/sessions/{Path.GetFileNameWithoutExtension(file)}", ct)).EnsureSuccessStatusCode());
        await Task.Delay(TimeSpan.FromSeconds(2));
        var touched = Driver.ProcStatusBytes(server.Id, "VmRSS:");
        driver.Add($"resident memory of the embedded silo after {sessionCount:N0} sessions written and each asked for its info", $"{touched / 1048576.0:0} MiB",
            $"after start {started / 1048576.0:0} MiB; {(touched - started) / (double)sessionCount / 1024:0.0} KiB a session", 0, "–", null);
    }

    private static long ManagedHeap()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
