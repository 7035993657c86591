using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.FileSystem;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>
/// Forks are copy-on-write: the call records the fork and its transcript is written afterwards. These tests pin
/// what must hold whatever the timing: a pending fork reads exactly like an eager copy, survives a crash of the node
/// that accepted it, survives the deletion of its parent, and is written once when two nodes race to write it.
/// Real parts: the file-system store and the SQLite catalog, on the 3 MB real transcript from ../shared/fixtures.
/// </summary>
public sealed class CopyOnWriteForkTests : IAsyncLifetime
{
    private const string Project = "-home-USER-projects-spotter-worktrees-spotter-dov";
    private const string Parent = "4d5611e5-241a-462a-8d15-5122611a9569";
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly string _dir = RepoPaths.TempDir("cow-fork");
    private FileSystemTranscriptStore _store = null!;
    private SqliteSessionCatalog _catalog = null!;

    public async Task InitializeAsync()
    {
        _store = new FileSystemTranscriptStore(new FileSystemTranscriptStoreOptions { Root = Path.Combine(_dir, "transcripts"), FlushToDisk = false }, _clock);
        _catalog = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = Path.Combine(_dir, "catalog.db") });
        await _catalog.InitializeAsync(CancellationToken.None);
        var node = Node();
        var file = Path.Combine(RepoPaths.ClaudeFixtures, "projects", Project, Parent + ".jsonl");
        var lines = File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => EntryParser.ParseLine(Encoding.UTF8.GetBytes(l), node.Limits)).ToList();
        foreach (var chunk in lines.Chunk(500))
        {
            await node.AppendAsync("t", new SessionKey(Project, Parent), chunk, null, CancellationToken.None);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    // A node: its own SessionService (own caches, own background work) over the shared store and catalog.
    private SessionService Node() => new(_store, _catalog, _clock, new EntryLimits());

    [Fact]
    public async Task Fork_OfARecentParent_ReadsExactlyLikeTheEagerForkOfAnOldOne()
    {
        var node = Node();
        var middle = await MiddleMessageAsync(node);
        var lazy = await node.ForkAsync("t", Project, Parent, middle, null, CancellationToken.None);
        var lazyMessages = await node.GetMessagesAsync("t", new SessionKey(Project, lazy), false, 0, null, CancellationToken.None);

        _clock.Advance(TimeSpan.FromDays(2)); // an old parent is forked at once
        var eager = await node.ForkAsync("t", Project, Parent, middle, null, CancellationToken.None);
        Assert.Null(await _catalog.GetPendingForkAsync("t", Project, eager, CancellationToken.None));
        Assert.NotNull(await _store.StatAsync("t", new SessionKey(Project, eager), CancellationToken.None));
        var eagerMessages = await node.GetMessagesAsync("t", new SessionKey(Project, eager), false, 0, null, CancellationToken.None);

        Assert.True(lazyMessages.Count > 10);
        Assert.Equal(Shape(eagerMessages), Shape(lazyMessages));
        Assert.Null(await _catalog.GetPendingForkAsync("t", Project, lazy, CancellationToken.None));
    }

    [Fact]
    public async Task PendingFork_LeftByACrashedNode_IsWrittenByTheNextReader_AndListed()
    {
        var parentMessages = await Node().GetMessagesAsync("t", new SessionKey(Project, Parent), false, 0, null, CancellationToken.None);
        var middle = parentMessages[parentMessages.Count / 2]["uuid"]!.GetValue<string>();
        var parentLength = (await _store.StatAsync("t", new SessionKey(Project, Parent), CancellationToken.None))!.Length;
        // The node accepted the fork (the catalog holds it) and died before writing the transcript.
        var fork = new PendingFork("t", Project, Guid.NewGuid().ToString(), Parent, parentLength, middle, "after the crash", null, _clock.GetUtcNow().ToUnixTimeMilliseconds());
        await _catalog.AddPendingForkAsync(fork, CancellationToken.None);
        Assert.Null(await _store.StatAsync("t", new SessionKey(Project, fork.SessionId), CancellationToken.None));

        var restarted = Node();
        var page = await restarted.ListAsync("t", Project, new SessionQuery(Limit: 100), CancellationToken.None);
        var listed = Assert.Single(page.Items, r => r.SessionId == fork.SessionId);
        Assert.Equal("after the crash", listed.CustomTitle);
        var messages = await restarted.GetMessagesAsync("t", new SessionKey(Project, fork.SessionId), false, 0, null, CancellationToken.None);
        Assert.Equal(Shape(parentMessages[..(parentMessages.Count / 2 + 1)]), Shape(messages));
        Assert.Null(await _catalog.GetPendingForkAsync("t", Project, fork.SessionId, CancellationToken.None));
    }

    [Fact]
    public async Task DeletingTheParent_FirstWritesItsPendingForks()
    {
        var parentLength = (await _store.StatAsync("t", new SessionKey(Project, Parent), CancellationToken.None))!.Length;
        var fork = new PendingFork("t", Project, Guid.NewGuid().ToString(), Parent, parentLength, null, null, "parent title", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        await _catalog.AddPendingForkAsync(fork, CancellationToken.None);
        var node = Node();
        Assert.True(await node.DeleteAsync("t", new SessionKey(Project, Parent), CancellationToken.None));
        Assert.Null(await _store.StatAsync("t", new SessionKey(Project, Parent), CancellationToken.None));
        var messages = await node.GetMessagesAsync("t", new SessionKey(Project, fork.SessionId), false, 0, null, CancellationToken.None);
        Assert.True(messages.Count > 10);
        Assert.Equal("parent title (fork)", (await node.GetInfoAsync("t", Project, fork.SessionId, CancellationToken.None)).CustomTitle);
    }

    [Fact]
    public async Task TwoNodes_RacingToWriteOnePendingFork_WriteItOnce()
    {
        var parentLength = (await _store.StatAsync("t", new SessionKey(Project, Parent), CancellationToken.None))!.Length;
        var fork = new PendingFork("t", Project, Guid.NewGuid().ToString(), Parent, parentLength, null, null, null, _clock.GetUtcNow().ToUnixTimeMilliseconds());
        await _catalog.AddPendingForkAsync(fork, CancellationToken.None);
        var key = new SessionKey(Project, fork.SessionId);
        SessionService[] nodes = [Node(), Node()];
        var reads = await Task.WhenAll(nodes.Select(n => Task.Run(() => n.GetMessagesAsync("t", key, false, 0, null, CancellationToken.None))));
        Assert.Equal(reads[0].Select(m => m["uuid"]!.GetValue<string>()), reads[1].Select(m => m["uuid"]!.GetValue<string>()));

        await using var stream = (await _store.OpenReadAsync("t", key, 0, null, CancellationToken.None))!;
        using var reader = new StreamReader(stream);
        var uuids = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["uuid"]?.GetValue<string>()).OfType<string>().ToList();
        Assert.Equal(uuids.Count, uuids.Distinct().Count());
        Assert.Single(uuids, u => u == reads[0][0]["uuid"]!.GetValue<string>());
    }

    [Fact]
    public async Task PendingFork_CutShortByACrash_IsCompletedToTheSameBytes()
    {
        var parentLength = (await _store.StatAsync("t", new SessionKey(Project, Parent), CancellationToken.None))!.Length;
        var fork = new PendingFork("t", Project, Guid.NewGuid().ToString(), Parent, parentLength, null, null, "parent title", _clock.GetUtcNow().ToUnixTimeMilliseconds());
        var key = new SessionKey(Project, fork.SessionId);
        await _catalog.AddPendingForkAsync(fork, CancellationToken.None);
        await Node().GetMessagesAsync("t", key, false, 0, null, CancellationToken.None);
        var whole = await ReadAsync(key);

        // The same pending fork again, with only its first half written when its writer died.
        await _store.DeleteAsync("t", key, CancellationToken.None);
        await _catalog.AddPendingForkAsync(fork, CancellationToken.None);
        var lines = whole.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var half = lines.Take(lines.Length / 2).Select(l => EntryParser.ParseLine(Encoding.UTF8.GetBytes(l), new EntryLimits())).ToList();
        await _store.AppendAsync("t", key, half, 0, CancellationToken.None);

        await Node().GetMessagesAsync("t", key, false, 0, null, CancellationToken.None);
        Assert.Equal(whole, await ReadAsync(key));
        Assert.Null(await _catalog.GetPendingForkAsync("t", Project, fork.SessionId, CancellationToken.None));
    }

    [Fact]
    public async Task Fork_AtAnUnknownMessage_FailsInTheCall()
    {
        var error = await Assert.ThrowsAsync<NotFoundException>(() => Node().ForkAsync("t", Project, Parent, "no-such-message", null, CancellationToken.None));
        Assert.Equal("message_not_found", error.Code);
        Assert.Empty(await _catalog.ListPendingForksAsync("t", Project, CancellationToken.None));
    }

    private async Task<string> ReadAsync(SessionKey key)
    {
        await using var stream = (await _store.OpenReadAsync("t", key, 0, null, CancellationToken.None))!;
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    private static async Task<string> MiddleMessageAsync(SessionService node)
    {
        var messages = await node.GetMessagesAsync("t", new SessionKey(Project, Parent), false, 0, null, CancellationToken.None);
        return messages[messages.Count / 2]["uuid"]!.GetValue<string>();
    }

    // What a fork's messages must keep from their sources, fresh ids aside: type and content, in order.
    private static List<string> Shape(List<JsonObject> messages) =>
        messages.Select(m => m["type"]?.ToJsonString() + " " + m["message"]?.ToJsonString()).ToList();
}
