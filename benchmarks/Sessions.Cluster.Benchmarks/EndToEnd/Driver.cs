using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Client;
using Sessions.Cluster.Core;
using Sessions.Cluster.Server;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// The end-to-end comparison: every workload of issue 6, ours and the peer's, measured in this one run on this machine.
/// Servers run in this process on loopback (HTTP included in our figures); Azurite and PostgreSQL are local processes.
/// </summary>
internal sealed class Driver(int sessionCount, IReadOnlySet<string>? only = null)
{
    /// <summary>The workload groups, in the order they run; <c>--only</c> picks some.</summary>
    public static readonly IReadOnlyList<string> Workloads = ["append", "load", "fork", "list", "retention", "cluster", "sdk", "startup", "memory", "hook", "search", "journal", "scale", "console", "client", "import"];

    internal const string BigSession = "4d5611e5-241a-462a-8d15-5122611a9569";
    internal const string BigProject = "-home-USER-projects-spotter-worktrees-spotter-dov";
    internal const string SmallSession = "55604662-cf2a-4331-851a-ec234028f8ca";
    internal const string SmallProject = "-home-marco-projects-spotter";
    internal const int Writers = 16;

    /// <summary>The tenant sizes <c>scale</c> measures at (<c>--scale-sizes</c>), in rising order.</summary>
    internal IReadOnlyList<int> ScaleSizes { get; init; } = [10_000, 100_000, 1_000_000];
    private readonly List<Row> _rows = [];
    private readonly string _bigFile = Path.Combine(RepoPaths.ClaudeFixtures, "projects", BigProject, BigSession + ".jsonl");

    public async Task<List<Row>> RunAsync()
    {
        var lines = File.ReadAllLines(_bigFile).Where(l => l.Length > 0).ToList();
        var batches = BatchPlan.Of(lines);
        var batchesFile = Path.Combine(RepoPaths.TempDir("bench"), "batches.json");
        await File.WriteAllTextAsync(batchesFile, new JsonArray(batches.Select(b => (JsonNode)b.Count).ToArray()).ToJsonString());
        Console.WriteLine($"Replaying {BigSession}: {lines.Count} entries, {new FileInfo(_bigFile).Length / 1024} KiB, in {batches.Count} batches (100 ms windows, ≤ 500 entries, ≤ 1 MiB).");

        await using var fsync = await NodeAsync(["--Sessions:DataDir", RepoPaths.TempDir("bench-fsync")]);
        await using var nofsync = await NodeAsync(["--Sessions:DataDir", RepoPaths.TempDir("bench-nofsync"), "--Sessions:FlushToDisk", "false"]);
        if (Wants("append") || Wants("load"))
        {
            // Load reads the transcript the fsync'd append run wrote.
            await EmbeddedAppendsAsync(fsync, nofsync, batches);
        }

        if (Wants("load"))
        {
            await EmbeddedLoadAsync(fsync);
        }

        if (Wants("fork"))
        {
            await ForkAsync(fsync);
        }

        if (Wants("list"))
        {
            await ListSessionsAsync(nofsync);
        }

        if (Wants("retention"))
        {
            await RetentionAsync();
        }

        if (Wants("cluster"))
        {
            await ClusterAsync(batches, batchesFile);
        }

        if (Wants("sdk"))
        {
            await new SdkStores(this, sessionCount).RunAsync(batchesFile);
        }

        if (Wants("import"))
        {
            await new SessionsImport(this, sessionCount).RunAsync(batchesFile);
        }

        if (Wants("search"))
        {
            await new ContentSearch(this, sessionCount).RunAsync(nofsync);
            await IndexingCostAsync(nofsync, batches);
            await using var azurite = await AzuriteServer.StartNewAsync();
            await using var postgres = await PostgresServer.StartNewAsync();
            await using var cluster = await ClusterNodeAsync(azurite, await postgres.CreateDatabaseAsync("search"));
            await new ContentSearch(this, sessionCount).RunAsync(cluster, "cluster");
        }

        if (Wants("hook"))
        {
            await new HookPush(this).RunAsync(nofsync, _bigFile);
        }

        if (Wants("memory"))
        {
            await new Memory(this, sessionCount).RunAsync(_bigFile);
        }

        if (Wants("startup"))
        {
            await StartupAsync();
        }

        if (Wants("journal"))
        {
            await new JournalCommit(this).RunAsync();
        }

        if (Wants("scale"))
        {
            await new Scale(this, ScaleSizes).RunAsync();
        }

        if (Wants("client"))
        {
            await new ClientOverhead(this).RunAsync(batches);
        }

        if (Wants("console"))
        {
            await new ConsolePages(this, sessionCount).RunAsync(_bigFile);
        }

        return _rows;
    }

    // Append throughput and latency, one session and many, against plain appends to a local JSONL file (what Claude Code does).
    private async Task EmbeddedAppendsAsync(Node fsync, Node nofsync, List<List<string>> batches)
    {
        var entries = batches.Sum(b => b.Count);
        var plainDir = RepoPaths.TempDir("plain");
        var (plainMs, plainLat) = await ReplayAsync(batches, async batch => await File.AppendAllTextAsync(Path.Combine(plainDir, "one.jsonl"), string.Join('\n', batch) + "\n"));
        var (plainSyncMs, _) = await ReplayAsync(batches, async batch =>
        {
            await using var f = new FileStream(Path.Combine(plainDir, "sync.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read);
            await f.WriteAsync(Encoding.UTF8.GetBytes(string.Join('\n', batch) + "\n"));
            f.Flush(flushToDisk: true);
        });
        using var c1 = fsync.Client();
        var (oursMs, oursLat) = await ReplayAsync(batches, batch => c1.AppendLinesAsync("bench", "one", null, batch, null, CancellationToken.None));
        using var c2 = nofsync.Client();
        var (oursNoSyncMs, oursNoSyncLat) = await ReplayAsync(batches, batch => c2.AppendLinesAsync("bench", "one", null, batch, null, CancellationToken.None));
        Add("append, 1 session, embedded (server fsyncs every batch)", Rate(entries, oursMs, oursLat), $"plain JSONL appends + fsync {Rate(entries, plainSyncMs, null)}", plainSyncMs / oursMs, "≥ 0.5× plain appends", plainSyncMs / oursMs >= 0.5);
        Add("append, 1 session, embedded (FlushToDisk=false)", Rate(entries, oursNoSyncMs, oursNoSyncLat), $"plain JSONL appends {Rate(entries, plainMs, plainLat)}", plainMs / oursNoSyncMs, "≥ 0.5× plain appends", plainMs / oursNoSyncMs >= 0.5);

        // The floor of any server answering one HTTP request per batch, on this machine: the same client and server, the
        // same number of requests, each an empty append (a no-op that writes nothing).
        var (floorMs, floorLat) = await ReplayAsync(batches, _ => c2.AppendLinesAsync("bench", "floor", null, [], null, CancellationToken.None));
        Add("HTTP floor: one empty append request per batch (writes nothing)", Rate(entries, floorMs, floorLat), $"plain JSONL appends {Rate(entries, plainMs, plainLat)}", plainMs / floorMs, "(the best ratio a request per batch allows)", null);

        var many = await ParallelReplayAsync(batches, async (w, batch) => await File.AppendAllTextAsync(Path.Combine(plainDir, $"w{w}.jsonl"), string.Join('\n', batch) + "\n"));
        var oursMany = await ParallelReplayAsync(batches, (w, batch) => c2.AppendLinesAsync("bench", $"many-{w}", null, batch, null, CancellationToken.None));
        Add($"append, {Writers} sessions at once, embedded (FlushToDisk=false)", Rate(entries * Writers, oursMany.Ms, oursMany.Latencies), $"plain JSONL appends {Rate(entries * Writers, many.Ms, many.Latencies)}", many.Ms / oursMany.Ms, "≥ 0.5× plain appends", many.Ms / oursMany.Ms >= 0.5);
    }

    // Resume: load the 3 MB transcript, against reading the same bytes from a local file.
    private async Task EmbeddedLoadAsync(Node node)
    {
        using var http = new HttpClient { BaseAddress = node.Url };
        // Loads take a few ms, so the medians are of 21 runs each (fewer swing by ±30 % on a shared machine).
        var ours = await RepeatAsync(21, async () => (await http.GetByteArrayAsync("v1/projects/bench/sessions/one/entries")).Length);
        var raw = await RepeatAsync(21, async () => (await File.ReadAllBytesAsync(_bigFile)).Length);

        // The raw download: the same bytes served over HTTP by Kestrel (send-file) on loopback, in this process.
        var builder = WebApplication.CreateSlimBuilder(["--Logging:LogLevel:Default", "Warning"]);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var files = builder.Build();
        files.MapGet("/raw", () => Results.File(_bigFile, "application/x-ndjson"));
        await files.StartAsync();
        using var rawHttp = new HttpClient { BaseAddress = new Uri(files.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/") };
        var download = await RepeatAsync(21, async () => (await rawHttp.GetByteArrayAsync("raw")).Length);
        Add("load (resume) of the 3 MB transcript, embedded", Stats.Ms(ours), $"raw HTTP download of the file (Kestrel) {Stats.Ms(download)}", download / ours, "≤ 1.2× a raw download", ours <= 1.2 * download);
        Add("load (resume) of the 3 MB transcript, embedded, vs a local read", Stats.Ms(ours), $"read of the JSONL file (no HTTP) {Stats.Ms(raw)}", raw / ours, "–", null);
    }

    // Fork at the middle and at the end of the 3 MB transcript, against the SDK's local-file forkSession.
    private async Task ForkAsync(Node node)
    {
        var config = RepoPaths.CopyFixtures();
        using var client = node.Client();
        using var http = new HttpClient { BaseAddress = node.Url };
        await ImportAsync(client, _bigFile, BigProject, BigSession);
        var smallFile = Path.Combine(RepoPaths.ClaudeFixtures, "projects", SmallProject, SmallSession + ".jsonl");
        await ImportAsync(client, smallFile, SmallProject, SmallSession);
        var messages = await client.GetMessagesAsync(BigProject, BigSession, null, null, CancellationToken.None);
        var points = new[] { ("middle", messages[messages.Count / 2]!["uuid"]!.GetValue<string>()), ("end", messages[^1]!["uuid"]!.GetValue<string>()) };
        var smallLast = (await client.GetMessagesAsync(SmallProject, SmallSession, null, null, CancellationToken.None))[^1]!["uuid"]!.GetValue<string>();
        // Each timed fork call is followed (untimed) by a load of the fork, so the write the fork's grain does after the
        // call is done before the next call and never competes with it for the CPU.
        string? lastFork = null;
        var small = await RepeatAsync(5, async () => (lastFork = await client.ForkAsync(SmallProject, SmallSession, smallLast, null, CancellationToken.None)).Length,
            () => http.GetByteArrayAsync($"v1/projects/{SmallProject}/sessions/{lastFork}/entries"));
        foreach (var (name, uuid) in points)
        {
            var ours = await RepeatAsync(5, async () => (lastFork = await client.ForkAsync(BigProject, BigSession, uuid, null, CancellationToken.None)).Length,
                () => http.GetByteArrayAsync($"v1/projects/{BigProject}/sessions/{lastFork}/entries"));
            var sdk = Stats.Median(Peers.Numbers(await Peers.RunAsync(new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = config }, "sdk-fork", config, BigSession, uuid, "3"), "ms"));
            Add($"fork of the 3 MB transcript at its {name} (a 10 KB one forks in {Stats.Ms(small)})", Stats.Ms(ours), $"SDK forkSession {Stats.Ms(sdk)}", sdk / ours, "≥ 10× faster, flat in size", sdk / ours >= 10 && ours < 3 * small);

            // The fork's grain writes the transcript right after the call answers, and the first reader waits for that:
            // this row counts the whole of it (fork, then the fork's first getSessionMessages).
            var withMessages = await RepeatAsync(5, async () =>
            {
                var fork = await client.ForkAsync(BigProject, BigSession, uuid, null, CancellationToken.None);
                return (await client.GetMessagesAsync(BigProject, fork, null, null, CancellationToken.None)).Count;
            });
            Add($"fork at its {name}, then the fork's first getSessionMessages (its write included)", Stats.Ms(withMessages), $"SDK forkSession alone {Stats.Ms(sdk)}", sdk / withMessages, "≥ 2× faster than the SDK's fork alone", sdk / withMessages >= 2);
        }

        var msgs = await RepeatAsync(5, async () => (await client.GetMessagesAsync(BigProject, BigSession, null, null, CancellationToken.None)).Count);
        var sdkMsgs = Stats.Median(Peers.Numbers(await Peers.RunAsync(new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = config }, "sdk-messages", config, BigSession, "5"), "ms"));
        Add("messages of the 3 MB transcript", Stats.Ms(msgs), $"SDK getSessionMessages {Stats.Ms(sdkMsgs)}", sdkMsgs / msgs, "–", null);

        // The answer's bytes (what an adapter gets before it parses them), unchanged and right after an append: each
        // timed read of the second follows (untimed) an append of one user entry to the chain, which the grain's kept
        // messages are extended by instead of being built again from the whole transcript (issue 23).
        var messagesPath = $"v1/projects/{BigProject}/sessions/{BigSession}/messages";
        var unchanged = await RepeatAsync(9, async () => (await http.GetByteArrayAsync(messagesPath)).Length);
        var parent = (await client.GetMessagesAsync(BigProject, BigSession, null, null, CancellationToken.None))[^1]!["uuid"]!.GetValue<string>();
        var turn = 0;
        var afterAppend = await RepeatAsync(9, async () => (await http.GetByteArrayAsync(messagesPath)).Length, async () =>
        {
            var uuid = Guid.NewGuid().ToString();
            await client.AppendLinesAsync(BigProject, BigSession, null,
                [$$$"""{"type":"user","uuid":"{{{uuid}}}","parentUuid":"{{{parent}}}","sessionId":"{{{BigSession}}}","timestamp":"2026-12-06T00:00:00.000Z","message":{"role":"user","content":"turn {{{turn++}}}"}}"""],
                null, CancellationToken.None);
            parent = uuid;
        });
        Add("messages of the 3 MB transcript, the answer's bytes, unchanged transcript", Stats.Ms(unchanged), $"SDK getSessionMessages {Stats.Ms(sdkMsgs)}", sdkMsgs / unchanged, "–", null);
        Add("messages of the 3 MB transcript, the answer's bytes, right after an append to it", Stats.Ms(afterAppend), $"SDK getSessionMessages {Stats.Ms(sdkMsgs)}", sdkMsgs / afterAppend, "≥ 3× the SDK's", sdkMsgs / afterAppend >= 3);
    }

    // listSessions on a project of N sessions, against the SDK's local-file listSessions on the same N files.
    private async Task ListSessionsAsync(Node node)
    {
        var config = await GenerateProjectAsync(sessionCount);
        using var client = node.Client();
        await ImportProjectAsync(client, config, "big-project");
        using var http = new HttpClient { BaseAddress = node.Url };
        var ours = await RepeatAsync(5, async () =>
        {
            var count = 0;
            string? cursor = null;
            do
            {
                var page = await client.ListAsync("big-project", 1000, cursor, null, null, CancellationToken.None);
                count += page.Sessions.Count;
                cursor = page.NextCursor;
            }
            while (cursor is not null);
            return count;
        });
        var store = await RepeatAsync(5, async () => (await http.GetByteArrayAsync("v1/projects/big-project/store/sessions")).Length);
        var sdk = Peers.Numbers(await Peers.RunAsync(new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = config }, "sdk-list", config, "3"), "ms");
        Add($"listSessions with info, {sessionCount:N0} sessions (all pages)", Stats.Ms(ours), $"SDK listSessions on the files {Stats.Ms(Stats.Median(sdk))}", Stats.Median(sdk) / ours, "≥ 100× faster", Stats.Median(sdk) / ours >= 100);
        Add($"SessionStore listSessions (ids + mtimes), {sessionCount:N0} sessions", Stats.Ms(store), $"SDK listSessions on the files {Stats.Ms(Stats.Median(sdk))}", Stats.Median(sdk) / store, "≥ 100× faster", Stats.Median(sdk) / store >= 100);
    }

    // Retention sweep of N expired sessions on one node (fake clock, so nothing waits): into the trash, then, after the
    // grace period, the purge. Each sweep goes through the tenant's retention grain and every session's grain.
    private async Task RetentionAsync()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var node = await NodeAsync(["--Sessions:DataDir", RepoPaths.TempDir("bench-retention"), "--Sessions:FlushToDisk", "false", "--Sessions:Retention:Enabled", "false"], clock);
        var config = await GenerateProjectAsync(sessionCount);
        using var client = node.Client();
        await ImportProjectAsync(client, config, "expiring");
        clock.Advance(TimeSpan.FromDays(31));
        var (expired, expireTime) = await SweepAsync(client, "expired");
        var perMinute = expired / expireTime.TotalMinutes;
        Add($"retention sweep: {expired:N0} expired sessions to the trash, one silo, embedded", $"{perMinute:N0} sessions/min ({Stats.Ms(expireTime.TotalMilliseconds)})", "target 100,000 sessions/min (issue 25)", perMinute / 100_000, "≥ 100,000 a minute", perMinute >= 100_000 && expired == sessionCount);
        clock.Advance(TimeSpan.FromDays(8));
        var (purged, purgeTime) = await SweepAsync(client, "purged");
        perMinute = purged / purgeTime.TotalMinutes;
        Add($"retention sweep: {purged:N0} trashed sessions purged after the grace, one silo, embedded", $"{perMinute:N0} sessions/min ({Stats.Ms(purgeTime.TotalMilliseconds)})", "target 100,000 sessions/min (issue 25)", perMinute / 100_000, "≥ 100,000 a minute", perMinute >= 100_000 && purged == sessionCount);
    }

    private static async Task<(int Count, TimeSpan Elapsed)> SweepAsync(SessionsClient client, string field)
    {
        var stopwatch = Stopwatch.StartNew();
        var report = await client.SendJsonAsync(HttpMethod.Post, "v1/admin/retention/sweep", null, CancellationToken.None);
        stopwatch.Stop();
        return (report![field]!.GetValue<int>(), stopwatch.Elapsed);
    }

    // The cluster: appends and loads through a node over Azurite and PostgreSQL, against the raw Azure SDK on the same Azurite,
    // the SDK's InMemorySessionStore and one PostgreSQL row per entry.
    private async Task ClusterAsync(List<List<string>> batches, string batchesFile)
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        await using var postgres = await PostgresServer.StartNewAsync();
        var db = await postgres.CreateDatabaseAsync("bench");
        await using var node = await ClusterNodeAsync(azurite, db);
        using var client = node.Client();
        var entries = batches.Sum(b => b.Count);
        var (oursMs, oursLat) = await ReplayAsync(batches, batch => client.AppendLinesAsync("bench", "one", null, batch, null, CancellationToken.None));
        var blob = await Peers.RunAsync(null, "blob-append", azurite.ConnectionString, "peer", _bigFile, batchesFile);
        var blobLat = Peers.Numbers(blob, "latenciesMs");
        Add("append, 1 session, cluster (Azure append blobs + PostgreSQL)", Rate(entries, oursMs, oursLat), $"raw Append Block, @azure/storage-blob {Rate(entries, blobLat.Sum(), blobLat)}", blobLat.Sum() / oursMs, "≥ 0.7× raw Append Block", blobLat.Sum() / oursMs >= 0.7);
        var oursMany = await ParallelReplayAsync(batches, (w, batch) => client.AppendLinesAsync("bench", $"many-{w}", null, batch, null, CancellationToken.None));
        var peerMany = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Peers.RunAsync(null, "blob-append", azurite.ConnectionString, "peer", _bigFile, batchesFile)));
        var peerManyMs = peerMany.Max(p => Peers.Numbers(p, "latenciesMs").Sum());
        Add($"append, {Writers} sessions at once, cluster (peer: 4 processes at once)", Rate(entries * Writers, oursMany.Ms, oursMany.Latencies), $"raw Append Block {Rate(entries * 4, peerManyMs, null)}", entries * Writers / oursMany.Ms / (entries * 4 / peerManyMs), "≥ 0.7× raw Append Block", entries * Writers / oursMany.Ms / (entries * 4 / peerManyMs) >= 0.7);

        // 16 hosts writing one session at once, each its own entries (the transcript's uuids made each writer's own): the
        // appends queued behind an Append Block in flight go out together (issue 25 §2), so one session is not held to
        // one round trip per append. Peer: one writer's raw Append Blocks to one blob, the same batches.
        var batchIndex = new Dictionary<List<string>, int>(batches.Select((b, i) => KeyValuePair.Create(b, i)), ReferenceEqualityComparer.Instance);
        var writerBatches = Enumerable.Range(0, Writers).Select(w => batches.Select(b => b.Select(l => l.Replace("\"uuid\":\"", $"\"uuid\":\"w{w}-", StringComparison.Ordinal)).ToList()).ToList()).ToList();
        var shared = await ParallelReplayAsync(batches, (w, batch) => client.AppendLinesAsync("bench", "shared", null, writerBatches[w][batchIndex[batch]], null, CancellationToken.None));
        var sharedBlob = new Azure.Storage.Blobs.BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("sessions").GetBlobClient("default/bench/shared.jsonl");
        var sharedBlocks = (await sharedBlob.GetPropertiesAsync()).Value.BlobCommittedBlockCount;
        var sharedRatio = entries * Writers / shared.Ms / (entries / blobLat.Sum());
        Add($"append, {Writers} hosts writing one session at once, cluster ({sharedBlocks:N0} Append Blocks for {Writers * batches.Count:N0} appends)", Rate(entries * Writers, shared.Ms, shared.Latencies),
            $"raw Append Block, one writer {Rate(entries, blobLat.Sum(), blobLat)}", sharedRatio, "≥ 1× one writer's raw Append Blocks", sharedRatio >= 1);

        using var http = new HttpClient { BaseAddress = node.Url };
        var load = await RepeatAsync(7, async () => (await http.GetByteArrayAsync("v1/projects/bench/sessions/one/entries")).Length);
        var download = Stats.Median(Peers.Numbers(await Peers.RunAsync(null, "blob-download", azurite.ConnectionString, "sessions", "default/bench/one.jsonl", "7"), "ms"));
        Add("load (resume) of the 3 MB transcript, cluster", Stats.Ms(load), $"raw download, @azure/storage-blob {Stats.Ms(download)}", download / load, "≤ 1.2× a raw download", load <= 1.2 * download);

        var memory = await Peers.RunAsync(null, "inmemory-append", _bigFile, batchesFile);
        var memoryLat = Peers.Numbers(memory, "latenciesMs");
        Add("append, 1 session, cluster vs the SDK's InMemorySessionStore", Rate(entries, oursMs, oursLat), $"InMemorySessionStore (no I/O) {Rate(entries, memoryLat.Sum(), memoryLat)}", memoryLat.Sum() / oursMs, "–", null);
        var pgUrl = $"postgresql://postgres@127.0.0.1:{postgres.Port}/bench";
        var pg = await Peers.RunAsync(null, "pg-append", pgUrl, _bigFile, batchesFile);
        var pgLat = Peers.Numbers(pg, "latenciesMs");
        Add("append, 1 session, cluster vs one PostgreSQL row per entry (pg)", Rate(entries, oursMs, oursLat), $"pg INSERT per batch {Rate(entries, pgLat.Sum(), pgLat)}", pgLat.Sum() / oursMs, "–", null);
        var pgLoad = Stats.Median(Peers.Numbers(await Peers.RunAsync(null, "pg-load", pgUrl, "7"), "ms"));
        Add("load of the 3 MB transcript, cluster vs PostgreSQL rows (pg)", Stats.Ms(load), $"pg SELECT ordered rows {Stats.Ms(pgLoad)}", pgLoad / load, "–", null);

        // A hot session (its grain active) answers info from memory and messages from one read at the grain's length,
        // against the SDK reading the same transcript from a local file.
        await ImportAsync(client, _bigFile, BigProject, BigSession);
        var config = RepoPaths.CopyFixtures();
        var env = new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = config };
        var info = await RepeatAsync(21, async () => (await http.GetByteArrayAsync($"v1/projects/{BigProject}/sessions/{BigSession}")).Length);
        var sdkInfo = Stats.Median(Peers.Numbers(await Peers.RunAsync(env, "sdk-info", config, BigSession, "21"), "ms"));
        Add("info of a hot 3 MB session, cluster", Stats.Ms(info), $"SDK getSessionInfo on the local file {Stats.Ms(sdkInfo)}", sdkInfo / info, "≥ 2× faster", sdkInfo / info >= 2);
        var messages = await RepeatAsync(7, async () => (await http.GetByteArrayAsync($"v1/projects/{BigProject}/sessions/{BigSession}/messages")).Length);
        var sdkMessages = Stats.Median(Peers.Numbers(await Peers.RunAsync(env, "sdk-messages", config, BigSession, "7"), "ms"));
        Add("messages of a hot 3 MB session, cluster", Stats.Ms(messages), $"SDK getSessionMessages on the local file {Stats.Ms(sdkMessages)}", sdkMessages / messages, "≥ 2× faster", sdkMessages / messages >= 2);
    }

    // The README's first command from a built tree: time from process start to the first 200 on /health/ready, and the
    // peak resident memory after serving a few requests (the embedded default, a one-silo cluster).
    private async Task StartupAsync()
    {
        var server = Path.Combine(AppContext.BaseDirectory, "Sessions.Cluster.Server.dll");
        var times = new List<double>();
        var memory = new List<double>();
        for (var run = 0; run < 5; run++)
        {
            var port = LocalPorts.Free();
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { server, "--urls", $"http://127.0.0.1:{port}", "--Sessions:DataDir", RepoPaths.TempDir("bench-startup"), "--Logging:LogLevel:Default", "Warning" })
            {
                psi.ArgumentList.Add(a);
            }

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(2) };
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(psi)!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            await WaitReadyAsync(http);
            times.Add(clock.Elapsed.TotalMilliseconds);
            for (var i = 0; i < 20; i++)
            {
                using var r = await http.PostAsync("v1/projects/startup/sessions/s/entries", new StringContent($"[{{\"type\":\"user\",\"uuid\":\"u{i}\",\"message\":{{\"role\":\"user\",\"content\":\"hi\"}}}}]", Encoding.UTF8, "application/json"));
                r.EnsureSuccessStatusCode();
            }

            memory.Add(PeakResidentBytes(process.Id) / 1048576.0);
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        var start = Stats.Median(times);
        var peak = Stats.Median(memory);
        Add("start of the embedded server (one silo) to the first 200 on /health/ready, from a built tree", Stats.Ms(start), "target 2,000 ms", 2000 / start, "≤ 2 s", start <= 2000);
        Add("peak memory of the embedded server after start and 20 appends", $"{peak:0} MiB", "target 150 MiB", 150 / peak, "≤ 150 MB", peak <= 150);
    }

    // Linux VmHWM of a process, in bytes.
    private static long PeakResidentBytes(int pid) => ProcStatusBytes(pid, "VmHWM:");

    /// <summary>A memory figure of a process's <c>/proc/&lt;pid&gt;/status</c> (<c>VmHWM:</c>, <c>VmRSS:</c> …), in bytes.</summary>
    internal static long ProcStatusBytes(int pid, string field) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>Waits for a server's first 200 on <c>/health/ready</c> (at most 60 s).</summary>
    internal static async Task WaitReadyAsync(HttpClient http)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var ready = await http.GetAsync("health/ready");
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new InvalidOperationException("The server did not become ready within 60 s.");
            }

            await Task.Delay(10);
        }
    }

    private bool Wants(string workload) => only is null || only.Contains(workload);

    /// <summary>Adds a row of the report (and prints it).</summary>
    internal void Add(string workload, string ours, string peer, double ratio, string target, bool? met)
    {
        _rows.Add(new Row(workload, ours, peer, ratio, target, met));
        Console.WriteLine($"  {workload}: {ours} | {peer} | {ratio:0.00}×");
    }

    internal static string Rate(int entries, double ms, IReadOnlyList<double>? latencies) =>
        $"{entries / (ms / 1000):N0} entries/s" + (latencies is null ? "" : $", p50 {Stats.Ms(Stats.Median(latencies))}, p99 {Stats.Ms(Stats.Percentile(latencies, 99))}");

    private static async Task<(double Ms, List<double> Latencies)> ReplayAsync(List<List<string>> batches, Func<List<string>, Task> send)
    {
        var latencies = new List<double>(batches.Count);
        var total = Stopwatch.StartNew();
        foreach (var batch in batches)
        {
            var one = Stopwatch.StartNew();
            await send(batch);
            latencies.Add(one.Elapsed.TotalMilliseconds);
        }

        return (total.Elapsed.TotalMilliseconds, latencies);
    }

    private static async Task<(double Ms, List<double> Latencies)> ParallelReplayAsync(List<List<string>> batches, Func<int, List<string>, Task> send)
    {
        var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(async w =>
        {
            foreach (var batch in batches)
            {
                var one = Stopwatch.StartNew();
                await send(w, batch);
                latencies.Add(one.Elapsed.TotalMilliseconds);
            }
        }));
        return (total.Elapsed.TotalMilliseconds, latencies.ToList());
    }

    // Median time of n runs (after one warm-up run); after, when given, runs untimed after each run.
    internal static async Task<double> RepeatAsync(int n, Func<Task<int>> run, Func<Task>? after = null)
    {
        await run();
        if (after is not null)
        {
            await after();
        }

        var times = new List<double>();
        for (var i = 0; i < n; i++)
        {
            var sw = Stopwatch.StartNew();
            await run();
            times.Add(sw.Elapsed.TotalMilliseconds);
            if (after is not null)
            {
                await after();
            }
        }

        return Stats.Median(times);
    }

    internal static async Task ImportAsync(SessionsClient client, string file, string projectKey, string sessionId)
    {
        var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
        foreach (var chunk in lines.Chunk(500))
        {
            await client.AppendLinesAsync(projectKey, sessionId, null, chunk, null, CancellationToken.None);
        }
    }

    // A Claude Code folder with one project (projects/<projectFolder>) of n copies of a real 10 KB session, each under its own id.
    internal static async Task<string> GenerateProjectAsync(int n, string projectFolder = "big-project")
    {
        var config = RepoPaths.TempDir("generated");
        var dir = Path.Combine(config, "projects", projectFolder);
        Directory.CreateDirectory(dir);
        var template = await File.ReadAllTextAsync(Path.Combine(RepoPaths.ClaudeFixtures, "projects", SmallProject, SmallSession + ".jsonl"));
        for (var i = 0; i < n; i++)
        {
            var id = Guid.NewGuid().ToString();
            await File.WriteAllTextAsync(Path.Combine(dir, id + ".jsonl"), template.Replace(SmallSession, id, StringComparison.Ordinal));
        }

        return config;
    }

    // What content indexing costs an append (issue 24: with it on ≥ 0.95× the throughput with it off): the 3 MB session
    // replayed into a node that indexes and one that does not (Sessions:IndexContent=false), both without fsync so the
    // disk's sync does not hide the difference; three rounds, alternating, a new session each time.
    private async Task IndexingCostAsync(Node indexing, List<List<string>> batches)
    {
        await using var plain = await NodeAsync(["--Sessions:DataDir", RepoPaths.TempDir("bench-noindex"), "--Sessions:FlushToDisk", "false", "--Sessions:IndexContent", "false"]);
        var entries = batches.Sum(b => b.Count);
        using var on = indexing.Client();
        using var off = plain.Client();
        var onMs = new List<double>();
        var offMs = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            var session = Guid.NewGuid().ToString();
            offMs.Add((await ReplayAsync(batches, batch => off.AppendLinesAsync("bench-index", session, null, batch, null, CancellationToken.None))).Ms);
            onMs.Add((await ReplayAsync(batches, batch => on.AppendLinesAsync("bench-index", session, null, batch, null, CancellationToken.None))).Ms);
        }

        double Rate(double ms) => entries / (ms / 1000);
        var ratio = Stats.Median(offMs) / Stats.Median(onMs);
        Add("append, 1 session, content indexing on (FlushToDisk=false), embedded",
            $"{Rate(Stats.Median(onMs)):N0} entries/s (rounds {Rate(onMs.Max()):N0}–{Rate(onMs.Min()):N0})",
            $"indexing off {Rate(Stats.Median(offMs)):N0} entries/s (rounds {Rate(offMs.Max()):N0}–{Rate(offMs.Min()):N0})", ratio, "≥ 0.95× with it off", ratio >= 0.95);
    }

    internal static Task ImportProjectAsync(SessionsClient client, string config, string projectKey) =>
        Parallel.ForEachAsync(Directory.EnumerateFiles(Path.Combine(config, "projects", "big-project")), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (file, _) =>
            await ImportAsync(client, file, projectKey, Path.GetFileNameWithoutExtension(file)));

    /// <summary>Starts a one-node cluster in this process over this Azurite and PostgreSQL database.</summary>
    internal static Task<Node> ClusterNodeAsync(AzuriteServer azurite, string database) =>
        NodeAsync(["--Sessions:Mode", "cluster", "--Sessions:Blob:ConnectionString", azurite.ConnectionString, "--Sessions:Postgres:ConnectionString", database,
            "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--Sessions:Orleans:GatewayPort", "0",
            "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1"]);

    /// <summary>Starts a server in this process with these arguments (and, when given, this store clock).</summary>
    internal static async Task<Node> NodeAsync(string[] args, TimeProvider? clock = null)
    {
        var app = SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default", "Warning", .. args], b =>
        {
            if (clock is not null)
            {
                b.Services.AddSingleton(new StoreClock(clock));
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Node(app, new Uri(address + "/"));
    }

    /// <summary>A server running in this process.</summary>
    internal sealed class Node(WebApplication app, Uri url) : IAsyncDisposable
    {
        public Uri Url => url;

        public IServiceProvider Services => app.Services;

        public SessionsClient Client() => new(new SessionsClientOptions { Url = url, Timeout = TimeSpan.FromMinutes(5) });

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
