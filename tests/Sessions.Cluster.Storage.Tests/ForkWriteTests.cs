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
/// Core's two steps of a fork: the parent's snapshot fixes a seed, and the fork's transcript is written from it later,
/// by whichever silo holds the fork's grain then (the grain tests cover who calls what). These tests pin what must
/// hold whatever the timing: a seed written later reads exactly as the fork of the parent's bytes at the snapshot,
/// however much the parent grew since; a write cut short by a crash is completed to the same bytes; two writers of one
/// seed write it once; a cut the snapshot cannot find cheaply is written in the call, so the SDK's error reaches it.
/// Real parts: the file-system store and the SQLite catalog, on the 3 MB real transcript from ../shared/fixtures.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ForkWriteTests : IAsyncLifetime
{
    private const string Project = "-home-USER-projects-spotter-worktrees-spotter-dov";
    private const string Parent = "4d5611e5-241a-462a-8d15-5122611a9569";
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly string _dir = RepoPaths.TempDir("fork-write");
    private FileSystemTranscriptStore _store = null!;
    private SqliteSessionCatalog _catalog = null!;
    private List<TranscriptLine> _lines = null!;

    public async Task InitializeAsync()
    {
        _store = new FileSystemTranscriptStore(new FileSystemTranscriptStoreOptions { Root = Path.Combine(_dir, "transcripts"), FlushToDisk = false }, _clock);
        _catalog = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = Path.Combine(_dir, "catalog.db") });
        await _catalog.InitializeAsync(CancellationToken.None);
        var node = Node();
        var file = Path.Combine(RepoPaths.ClaudeFixtures, "projects", Project, Parent + ".jsonl");
        _lines = File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => EntryParser.ParseLine(Encoding.UTF8.GetBytes(l), node.Limits)).ToList();
        await node.AppendAsync(node.Open("t", Project, Parent), null, _lines.Take(_lines.Count * 9 / 10).ToList(), null, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    // A node: its own SessionService (own caches) over the shared store and catalog.
    private SessionService Node() => new(_store, _catalog, _clock, new EntryLimits());

    private static SessionState ParentOf(SessionService node) => node.Open("t", Project, Parent);

    private static Task WriteFork(SessionService node, string forkId, ForkSeed seed, byte[]? ephemeralParent, CancellationToken cancellationToken) =>
        node.WriteForkAsync(node.Open("t", Project, forkId), seed, ephemeralParent, cancellationToken);

    [Fact]
    public async Task Seed_WrittenAfterTheParentGrew_ReadsAsTheForkAtTheSnapshot()
    {
        var node = Node();
        var parentMessages = await node.GetMessagesAsync("t", new SessionKey(Project, Parent), false, 0, null, CancellationToken.None);
        var snapshot = await node.SnapshotForkAsync(node.Open("t", Project, Parent), null, "at the snapshot", CancellationToken.None);
        Assert.False(snapshot.WriteNow);
        Assert.Null(await _store.StatAsync("t", new SessionKey(Project, snapshot.ForkId), CancellationToken.None));

        // The parent grows before the fork is written; the fork still holds the history of the snapshot.
        await node.AppendAsync(node.Open("t", Project, Parent), null, _lines.Skip(_lines.Count * 9 / 10).ToList(), null, CancellationToken.None);
        await WriteFork(Node(), snapshot.ForkId, snapshot.Seed, null, CancellationToken.None);

        var messages = await node.GetMessagesAsync("t", new SessionKey(Project, snapshot.ForkId), false, 0, null, CancellationToken.None);
        Assert.True(messages.Count > 10, $"{messages.Count} of {parentMessages.Count}");
        Assert.Equal(Shape(parentMessages), Shape(messages));
        Assert.Equal("at the snapshot", (await node.GetInfoAsync("t", Project, snapshot.ForkId, CancellationToken.None)).CustomTitle);
    }

    [Fact]
    public async Task TwoWriters_OfOneSeed_OneAfterTheOther_WriteItOnce()
    {
        var snapshot = await Node().SnapshotForkAsync(ParentOf(Node()), null, null, CancellationToken.None);
        SessionService[] nodes = [Node(), Node()];
        // One after the other: a transcript file has one writer at a time (the fork's grain); the second finds the fork
        // written and writes nothing.
        foreach (var n in nodes)
        {
            await WriteFork(n, snapshot.ForkId, snapshot.Seed, null, CancellationToken.None);
        }

        var uuids = (await ReadAsync(new SessionKey(Project, snapshot.ForkId))).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonNode.Parse(l)!["uuid"]?.GetValue<string>()).OfType<string>().ToList();
        Assert.True(uuids.Count > 10);
        Assert.Equal(uuids.Count, uuids.Distinct().Count());
    }

    [Fact]
    public async Task AWriteCutShortByACrash_IsCompletedToTheSameBytes()
    {
        var snapshot = await Node().SnapshotForkAsync(ParentOf(Node()), null, null, CancellationToken.None);
        var key = new SessionKey(Project, snapshot.ForkId);
        await WriteFork(Node(), snapshot.ForkId, snapshot.Seed, null, CancellationToken.None);
        var whole = await ReadAsync(key);

        // The same seed again, with only the first half of its transcript written when its writer died.
        await _store.DeleteAsync("t", key, CancellationToken.None);
        var lines = whole.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var half = lines.Take(lines.Length / 2).Select(l => EntryParser.ParseLine(Encoding.UTF8.GetBytes(l), new EntryLimits())).ToList();
        await _store.AppendAsync("t", key, half, 0, CancellationToken.None);

        await WriteFork(Node(), snapshot.ForkId, snapshot.Seed, null, CancellationToken.None);
        Assert.Equal(whole, await ReadAsync(key));
    }

    [Fact]
    public async Task ACutTheSnapshotCannotFind_IsWrittenInTheCall_AndFailsAsTheSdk()
    {
        var snapshot = await Node().SnapshotForkAsync(ParentOf(Node()), "no-such-message", null, CancellationToken.None);
        Assert.True(snapshot.WriteNow);
        var error = await Assert.ThrowsAsync<NotFoundException>(() => WriteFork(Node(), snapshot.ForkId, snapshot.Seed, null, CancellationToken.None));
        Assert.Equal("message_not_found", error.Code);
        Assert.Null(await _store.StatAsync("t", new SessionKey(Project, snapshot.ForkId), CancellationToken.None));
    }

    private async Task<string> ReadAsync(SessionKey key)
    {
        await using var stream = (await _store.OpenReadAsync("t", key, 0, null, CancellationToken.None))!;
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    // What a fork's messages must keep from their sources, fresh ids aside: type and content, in order.
    private static List<string> Shape(List<JsonObject> messages) =>
        messages.Select(m => m["type"]?.ToJsonString() + " " + m["message"]?.ToJsonString()).ToList();
}
