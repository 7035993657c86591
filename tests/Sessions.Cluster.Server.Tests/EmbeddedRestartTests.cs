using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Embedded mode across restarts: catalog rows held back by the write-behind catalog are written by a clean stop,
/// and after an unclean one the catalog is reconciled from the transcripts, so no acknowledged session goes missing
/// from listings; a fork whose seed was stored but not written is written by the next start. Real servers on a real
/// data folder, stopped and started again.
/// </summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedRestartTests
{
    private const string SmallProject = "-home-marco-projects-spotter";
    private const string SmallSession = "55604662-cf2a-4331-851a-ec234028f8ca";

    [Fact]
    public async Task CleanStop_WritesHeldBackRows_AndLeavesTheMarker()
    {
        var data = RepoPaths.TempDir("restart-clean");
        await using (var first = await StartAsync(data, "--Sessions:CatalogWriteDelay", "00:05:00"))
        {
            Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(first.Http, HttpMethod.Post, "v1/projects/p/sessions/s/entries", $"[{Calls.Entry("u1")},{Calls.Entry("u2")}]")).Item1);
        }

        Assert.True(File.Exists(Path.Combine(data, "catalog.clean")));
        await using var second = await StartAsync(data);
        Assert.False(File.Exists(Path.Combine(data, "catalog.clean")));
        var (_, list) = await Calls.SendAsync(second.Http, HttpMethod.Get, "v1/projects/p/sessions");
        var row = Assert.Single(list!["sessions"]!.AsArray())!;
        Assert.Equal("s", row["sessionId"]!.GetValue<string>());
        Assert.Equal(new FileInfo(Path.Combine(data, "transcripts", "default", "p", "s.jsonl")).Length, row["fileSize"]!.GetValue<long>());
    }

    [Fact]
    public async Task UncleanStop_CatalogIsReconciledFromTheTranscripts()
    {
        var data = RepoPaths.TempDir("restart-crash");
        await using (var first = await StartAsync(data))
        {
            await Calls.SendAsync(first.Http, HttpMethod.Post, "v1/projects/p/sessions/known/entries", $"[{Calls.Entry("k1")}]");
        }

        // A crash after a transcript write and before its row: the transcript is there, the row is not, no clean marker.
        File.Delete(Path.Combine(data, "catalog.clean"));
        var placed = Path.Combine(data, "transcripts", "default", SmallProject, SmallSession + ".jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(placed)!);
        File.Copy(Path.Combine(RepoPaths.ClaudeFixtures, "projects", SmallProject, SmallSession + ".jsonl"), placed);

        await using var second = await StartAsync(data);
        var row = await ListedAsync(second, SmallSession);
        Assert.Equal(new FileInfo(placed).Length, row["fileSize"]!.GetValue<long>());
        Assert.False(string.IsNullOrEmpty(row["summary"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AForkSeedNobodyTouched_IsWrittenByTheNextStart()
    {
        var data = RepoPaths.TempDir("restart-fork");
        var forkId = Guid.NewGuid().ToString();
        var source = Path.Combine(RepoPaths.ClaudeFixtures, "projects", SmallProject, SmallSession + ".jsonl");
        await using (var first = await StartAsync(data))
        {
            var entries = "[" + string.Join(",", File.ReadAllLines(source).Where(l => l.Length > 0)) + "]";
            Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(first.Http, HttpMethod.Post, $"v1/projects/{SmallProject}/sessions/{SmallSession}/entries", entries)).Item1);

            // What a silo that died between a fork's answer and its write leaves: the seed in grain state, no transcript.
            var seed = new Sessions.Cluster.Core.Sessions.ForkSeed(SmallSession, new FileInfo(Path.Combine(data, "transcripts", "default", SmallProject, SmallSession + ".jsonl")).Length,
                null, "after the crash", null, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            var grainId = first.App.Services.GetRequiredService<IGrainFactory>().GetGrain<Sessions.Cluster.Grains.ISessionGrain>($"default/{SmallProject}/{forkId}").GetGrainId();
            await first.App.Services.GetRequiredService<ISessionCatalog>().AddUnfinishedForkAsync(new UnfinishedFork("default", SmallProject, forkId, SmallSession, seed.ForkTime), CancellationToken.None);
            await GrainStorage(first).WriteStateAsync(Sessions.Cluster.Grains.ForkSeedState.StateName, grainId, new GrainState<Sessions.Cluster.Grains.ForkSeedState>(Sessions.Cluster.Grains.ForkSeedState.From(seed)));
        }

        // Nobody touches the fork: the start finishes it, so it is listed.
        await using var second = await StartAsync(data);
        var row = await ListedAsync(second, forkId);
        Assert.Equal("after the crash", row["summary"]!.GetValue<string>());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(data, "grains"), "*.state", SearchOption.AllDirectories));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await second.App.Services.GetRequiredService<ISessionCatalog>().ListUnfinishedForksAsync("default", CancellationToken.None)).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the catalog still notes the finished fork");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task MessagesTheIndexMissed_AreIndexedByTheNextStart()
    {
        // What a process that died with index writes queued leaves: rows whose transcripts are past their index (here
        // made by a run that indexes nothing), then a start that indexes.
        var data = RepoPaths.TempDir("restart-index");
        var session = Guid.NewGuid().ToString();
        var entry = "{\"type\":\"user\",\"uuid\":\"" + Guid.NewGuid() + "\",\"timestamp\":\"2026-12-01T10:00:00.000Z\",\"message\":{\"role\":\"user\",\"content\":\"the narwhal plan\"}}";
        await using (var first = await StartAsync(data, "--Sessions:IndexContent", "false"))
        {
            Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(first.Http, HttpMethod.Post, $"v1/projects/p/sessions/{session}/entries", "[" + entry + "]")).Item1);
        }

        await using var second = await StartAsync(data);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var (status, found) = await Calls.SendAsync(second.Http, HttpMethod.Get, "v1/search?q=narwhal");
            Assert.Equal(HttpStatusCode.OK, status);
            if (found!["results"]!.AsArray().Any(r => r!["session"]!["sessionId"]!.GetValue<string>() == session))
            {
                break;
            }

            await Task.Delay(50, timeout.Token);
        }

        Assert.Empty(await second.App.Services.GetRequiredService<ISessionCatalog>().ListUnindexedAsync("default", 10, CancellationToken.None));
    }

    [Fact]
    public async Task ErasingATenant_ClearsItsForkSeeds()
    {
        var data = RepoPaths.TempDir("erase-seeds");
        await using var node = await StartAsync(data, "--Sessions:Auth:OperatorKey", "operator-key-for-this-test-0123456789");
        var storage = GrainStorage(node);
        var catalog = node.App.Services.GetRequiredService<ISessionCatalog>();
        var seed = Sessions.Cluster.Grains.ForkSeedState.From(new Sessions.Cluster.Core.Sessions.ForkSeed("parent", 10, null, "SECRET TITLE", null, 1));
        foreach (var tenant in new[] { "gone", "kept" })
        {
            // What a fork call leaves while its fork is unfinished: the catalog's note, the seed and the parent's note.
            var forkId = Guid.NewGuid().ToString();
            await catalog.AddUnfinishedForkAsync(new UnfinishedFork(tenant, "p", forkId, "parent", 1), CancellationToken.None);
            await storage.WriteStateAsync(Sessions.Cluster.Grains.ForkSeedState.StateName, SessionGrainId(node, $"{tenant}/p/{forkId}"),
                new GrainState<Sessions.Cluster.Grains.ForkSeedState>(seed));
            await storage.WriteStateAsync(Sessions.Cluster.Grains.UnfinishedForksState.StateName, SessionGrainId(node, $"{tenant}/p/parent"),
                new GrainState<Sessions.Cluster.Grains.UnfinishedForksState>(new Sessions.Cluster.Grains.UnfinishedForksState { ForkIds = [forkId] }));
        }

        using var op = new HttpClient { BaseAddress = node.Http.BaseAddress };
        op.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "operator-key-for-this-test-0123456789");
        Assert.Equal(HttpStatusCode.Created, (await Calls.SendAsync(op, HttpMethod.Post, "v1/tenants", "{\"tenant\":\"gone\"}")).Item1);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(op, HttpMethod.Delete, "v1/tenants/gone")).Item1);

        // The grain state files (one per state, under {state}/{grain type}/{tenant}/…): only the other tenant's are left.
        var grains = Path.Combine(data, "grains");
        var left = Directory.EnumerateFiles(grains, "*.state", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(grains, f).Split(Path.DirectorySeparatorChar)).Select(p => $"{p[0]}/{p[2]}").Order();
        Assert.Equal(["forkseed/kept", "unfinishedforks/kept"], left);
        Assert.Empty(await catalog.ListUnfinishedForksAsync("gone", CancellationToken.None));
        Assert.Single(await catalog.ListUnfinishedForksAsync("kept", CancellationToken.None));
    }

    private static GrainId SessionGrainId(Node node, string key) =>
        node.App.Services.GetRequiredService<IGrainFactory>().GetGrain<Sessions.Cluster.Grains.ISessionGrain>(key).GetGrainId();

    // The embedded silo's default grain storage (files under the data folder).
    private static Orleans.Storage.IGrainStorage GrainStorage(Node node) =>
        node.App.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(Orleans.Providers.ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME);

    // The session's row in its project's listing, once it shows (within a minute).
    private static async Task<JsonNode> ListedAsync(Node node, string sessionId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            await Task.Delay(50, timeout.Token);
            var (_, list) = await Calls.SendAsync(node.Http, HttpMethod.Get, $"v1/projects/{SmallProject}/sessions");
            if (list!["sessions"]!.AsArray().SingleOrDefault(r => r!["sessionId"]!.GetValue<string>() == sessionId) is { } row)
            {
                return row;
            }
        }
    }

    private static async Task<Node> StartAsync(string data, params string[] extra)
    {
        var app = SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Sessions:DataDir", data, "--Logging:LogLevel:Default", "Warning", .. extra]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Node(app, new HttpClient { BaseAddress = new Uri(address + "/") });
    }

    private sealed class Node(WebApplication app, HttpClient http) : IAsyncDisposable
    {
        public HttpClient Http => http;

        public WebApplication App => app;

        public async ValueTask DisposeAsync()
        {
            http.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
