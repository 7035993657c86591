using System.Text;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.FileSystem;

namespace Sessions.Cluster.Storage.Tests;

[Trait("Category", "Unit")]
public sealed class FileSystemTranscriptStoreTests : TranscriptStoreConformance, IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", "fs-" + Guid.NewGuid().ToString("N"));
    private FileSystemTranscriptStore _store;

    public FileSystemTranscriptStoreTests() => _store = new FileSystemTranscriptStore(new FileSystemTranscriptStoreOptions { Root = _root }, Clock);

    // The process dies (its journal is left as it is) and a new one starts on the same folder.
    private FileSystemTranscriptStore Restart()
    {
        _store.Abandon();
        return _store = new FileSystemTranscriptStore(new FileSystemTranscriptStoreOptions { Root = _root }, Clock);
    }

    protected override ITranscriptStore Store => _store;

    [Fact]
    public async Task ListMainTranscripts_SkipsFilesNoKeyCanName()
    {
        var key = new SessionKey("p", "named");
        await _store.AppendAsync("odd", key, [Line("a")], null, CancellationToken.None);
        // Placed by hand beside it: names that are not safe keys (a '..' inside, a trailing dot before the extension).
        await File.WriteAllTextAsync(Path.Combine(_root, "odd", "p", "a..b.jsonl"), "{}\n");
        await File.WriteAllTextAsync(Path.Combine(_root, "odd", "p", "x..jsonl"), "{}\n");
        var mains = new List<SessionKey>();
        await foreach (var stat in _store.ListMainTranscriptsAsync("odd", CancellationToken.None))
        {
            mains.Add(stat.Key);
        }

        Assert.Equal([key], mains);
    }

    [Fact]
    public async Task Layout_MirrorsClaudeCode()
    {
        await _store.AppendAsync("acme", new SessionKey("-home-me-app", "s1"), [Line("a")], null, CancellationToken.None);
        await _store.AppendAsync("acme", new SessionKey("-home-me-app", "s1", "subagents/agent-7"), [Line("b")], null, CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(_root, "acme", "-home-me-app", "s1.jsonl")));
        Assert.True(File.Exists(Path.Combine(_root, "acme", "-home-me-app", "s1", "subagents", "agent-7.jsonl")));
    }

    [Fact]
    public async Task TornTailFromACrash_IsInvisibleToReaders_AndReplacedByTheNextAppend()
    {
        var key = new SessionKey("p", "torn");
        await _store.AppendAsync(Tenant, key, [Line("a")], null, CancellationToken.None);
        var path = _store.PathOf(Tenant, key);
        await File.AppendAllTextAsync(path, "{\"type\":\"t\",\"uuid\":\"half");

        // A fresh store (a restarted process) must not see the partial line either.
        var restarted = Restart();
        await using (var stream = await restarted.OpenReadAsync(Tenant, key, 0, null, CancellationToken.None))
        {
            Assert.Equal("{\"type\":\"t\",\"uuid\":\"a\",\"b\":\"x\"}\n", await new StreamReader(stream!).ReadToEndAsync());
        }

        await restarted.AppendAsync(Tenant, key, [Line("b")], null, CancellationToken.None);
        Assert.Equal("{\"type\":\"t\",\"uuid\":\"a\",\"b\":\"x\"}\n{\"type\":\"t\",\"uuid\":\"b\",\"b\":\"x\"}\n", await File.ReadAllTextAsync(path, Encoding.UTF8));
    }

    [Fact]
    public async Task Dedupe_SurvivesARestart()
    {
        var key = new SessionKey("p", "restart");
        await _store.AppendAsync(Tenant, key, [Line("a")], null, CancellationToken.None);
        var restarted = Restart();
        var result = await restarted.AppendAsync(Tenant, key, [Line("a")], null, CancellationToken.None);
        Assert.Equal(0, result.Appended);
    }

    [Theory]
    [InlineData("..", "s", null)]
    [InlineData("p", "../s", null)]
    [InlineData("p", "s", "../../x")]
    [InlineData("p", "s", "/abs")]
    [InlineData("p", "s", "a//b")]
    [InlineData("p/q", "s", null)]
    [InlineData("p\\q", "s", null)]
    [InlineData("p\0", "s", null)]
    public async Task UnsafeKeys_AreRejected_BeforeAnythingIsWritten(string projectKey, string sessionId, string? subpath)
    {
        await Assert.ThrowsAsync<InvalidKeyException>(() => _store.AppendAsync(Tenant, new SessionKey(projectKey, sessionId, subpath), [Line("a")], null, CancellationToken.None));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
    }

    public void Dispose()
    {
        _store.Dispose();
        foreach (var dir in new[] { _root, _root + ".journal" })
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}

[Trait("Category", "Unit")]
public sealed class MemoryTranscriptStoreTests : TranscriptStoreConformance
{
    private readonly MemoryTranscriptStore _store;

    public MemoryTranscriptStoreTests() => _store = new MemoryTranscriptStore(Clock);

    protected override ITranscriptStore Store => _store;
}
