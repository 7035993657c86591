using System.Text;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.FileSystem;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>
/// The embedded silo's write-ahead journal (issue 25 §1): what a crash leaves — transcript bytes the disk lost, lines
/// written but never acknowledged, a deletion, a torn journal tail — replayed at the next start. A crash is the store
/// letting go of its journal with no checkpoint (<c>Abandon</c>); the files are then changed by hand as a power cut would
/// leave them.
/// </summary>
[Trait("Category", "Unit")]
public sealed class TranscriptJournalTests : IDisposable
{
    private const string Tenant = "t";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", "journal-" + Guid.NewGuid().ToString("N"));
    private readonly Sessions.Cluster.Testing.FakeTimeProvider _clock = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private FileSystemTranscriptStore _store;

    public TranscriptJournalTests() => _store = Start();

    private FileSystemTranscriptStore Start(long journalBytes = TranscriptJournal.DefaultCapacity) =>
        new(new FileSystemTranscriptStoreOptions { Root = _root, JournalBytes = journalBytes }, _clock);

    private FileSystemTranscriptStore CrashAndRestart(Action? whileDown = null, long journalBytes = TranscriptJournal.DefaultCapacity)
    {
        _store.Abandon();
        whileDown?.Invoke();
        return _store = Start(journalBytes);
    }

    private static TranscriptLine Line(string uuid) => new(Encoding.UTF8.GetBytes($"{{\"type\":\"user\",\"uuid\":\"{uuid}\",\"message\":{{\"content\":\"{new string('w', 300)}\"}}}}"), uuid);

    private static string Text(params string[] uuids) => string.Concat(uuids.Select(u => Encoding.UTF8.GetString(Line(u).Json.Span) + "\n"));

    private async Task AppendAsync(SessionKey key, params string[] uuids) =>
        await _store.AppendAsync(Tenant, key, [.. uuids.Select(Line)], null, CancellationToken.None);

    private string PathOf(SessionKey key) => _store.PathOf(Tenant, key);

    [Fact]
    public async Task BytesTheDiskLost_AreWrittenBackFromTheJournal_ExactlyOnce()
    {
        var key = new SessionKey("p", "lost");
        var agent = new SessionKey("p", "lost", "subagents/agent-1");
        await AppendAsync(key, "a", "b");
        await AppendAsync(agent, "x");
        await AppendAsync(key, "c");
        var path = PathOf(key);

        // The power went: the file kept only its first line, the subagent's file is gone.
        CrashAndRestart(() =>
        {
            File.WriteAllText(path, Text("a"));
            File.Delete(PathOf(agent));
        });

        Assert.Equal((3, false), _store.JournalReplay);
        Assert.Equal(Text("a", "b", "c"), await File.ReadAllTextAsync(path));
        Assert.Equal(Text("x"), await File.ReadAllTextAsync(PathOf(agent)));
        Assert.Equal(0, (await _store.AppendAsync(Tenant, key, [Line("c")], null, CancellationToken.None)).Appended);

        // Replaying again (a crash during the replay's own checkpoint) changes nothing.
        CrashAndRestart();
        Assert.Equal(Text("a", "b", "c"), await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task LinesWrittenButNeverAcknowledged_AreCutOff_AndACleanStopReplaysNothing()
    {
        var key = new SessionKey("p", "unacked");
        await AppendAsync(key, "a");
        var path = PathOf(key);
        CrashAndRestart(() => File.AppendAllText(path, Text("never-acknowledged") + "{\"partial"));
        Assert.Equal(Text("a"), await File.ReadAllTextAsync(path));

        await AppendAsync(key, "b");
        _store.Dispose();
        _store = Start();
        Assert.Equal((0, false), _store.JournalReplay);
        Assert.Equal(Text("a", "b"), await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task ADeletedSession_StaysDeleted_AndOneMadeAgainAfterwardsComesBack()
    {
        var gone = new SessionKey("p", "gone");
        var again = new SessionKey("p", "again");
        await AppendAsync(gone, "a");
        await AppendAsync(new SessionKey("p", "gone", "subagents/agent-1"), "x");
        await AppendAsync(again, "b");
        Assert.True(await _store.Open(Tenant, gone).DeleteAsync(CancellationToken.None));
        Assert.True(await _store.Open(Tenant, again).DeleteAsync(CancellationToken.None));
        await AppendAsync(again, "c");
        CrashAndRestart();

        Assert.False(File.Exists(PathOf(gone)));
        Assert.False(Directory.Exists(Path.Combine(Path.GetDirectoryName(PathOf(gone))!, "gone")));
        Assert.Equal(Text("c"), await File.ReadAllTextAsync(PathOf(again)));
        Assert.Equal(0, await _store.DeleteTenantAsync("nobody", CancellationToken.None));
        Assert.Equal(1, await _store.DeleteTenantAsync(Tenant, CancellationToken.None));
        CrashAndRestart();
        Assert.False(Directory.Exists(Path.Combine(_root, Tenant)));
    }

    [Fact]
    public async Task ATornJournalTail_IsDetected_AndNeverReplayedAsData()
    {
        var key = new SessionKey("p", "torn");
        for (var i = 0; i < 10; i++)
        {
            await AppendAsync(key, "e" + i);
        }

        var path = PathOf(key);
        var journal = FileSystemTranscriptStore.JournalPath(new FileSystemTranscriptStoreOptions { Root = _root });
        var random = new Random(25);
        CrashAndRestart(() =>
        {
            // The last record cut at a random byte (as a crash mid-write leaves it), and the disk lost the file's tail.
            var record = Encoding.UTF8.GetByteCount(Text("e9")) + 20 + 1 + 2 + Encoding.UTF8.GetByteCount(Path.GetRelativePath(_root, path)) + 16;
            using (var file = File.OpenHandle(journal, FileMode.Open, FileAccess.ReadWrite))
            {
                var end = 4096L + (10 * record);
                RandomAccess.SetLength(file, end - random.Next(1, record));
            }

            File.WriteAllText(path, Text("e0"));
        });

        Assert.Equal((9, true), _store.JournalReplay);
        Assert.Equal(Text([.. Enumerable.Range(0, 9).Select(i => "e" + i)]), await File.ReadAllTextAsync(path));
        await AppendAsync(key, "e9");
        CrashAndRestart();
        Assert.Equal(Text([.. Enumerable.Range(0, 10).Select(i => "e" + i)]), await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task AFullJournal_IsCheckpointed_AndStartsOver_LosingNothing()
    {
        CrashAndRestart(journalBytes: 16 * 1024);
        var keys = Enumerable.Range(0, 4).Select(i => new SessionKey("p", "s" + i)).ToList();
        await Task.WhenAll(keys.Select(async key =>
        {
            for (var i = 0; i < 30; i++)
            {
                await AppendAsync(key, $"{key.SessionId}-{i}");
            }
        }));

        CrashAndRestart(journalBytes: 16 * 1024);
        Assert.InRange(_store.JournalReplay!.Value.Records, 1, 40);
        foreach (var key in keys)
        {
            Assert.Equal(Text([.. Enumerable.Range(0, 30).Select(i => $"{key.SessionId}-{i}")]), await File.ReadAllTextAsync(PathOf(key)));
        }
    }

    [Fact]
    public async Task SixteenWritersAtOnce_ShareSyncs_AndEveryAcknowledgedLine_IsReplayedExactlyOnce()
    {
        // Records that arrive while a sync is under way wait for the next one (the caller that found no sync running
        // writes on its own thread, the rest on a pool thread): every path of the group commit, with the files lost.
        var keys = Enumerable.Range(0, 16).Select(i => new SessionKey("p", "w" + i)).ToList();
        await Task.WhenAll(keys.Select(key => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                await AppendAsync(key, $"{key.SessionId}-{i}");
            }
        })));

        CrashAndRestart(() => keys.ForEach(key => File.WriteAllText(PathOf(key), "")));
        Assert.Equal((16 * 40, false), _store.JournalReplay);
        foreach (var key in keys)
        {
            Assert.Equal(Text([.. Enumerable.Range(0, 40).Select(i => $"{key.SessionId}-{i}")]), await File.ReadAllTextAsync(PathOf(key)));
        }
    }

    [Fact]
    public void TheJournal_IsHeldByOneStore()
    {
        var ex = Assert.ThrowsAny<IOException>(() => Start());
        Assert.NotNull(ex.Message);
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
