using System.Text;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Tests;

/// <summary>
/// The append rule (DESIGN.md §4): uuid dedupe, uuid-less entries always appended except where a batch repeats them in
/// place, and the Idempotency-Key. Each case names the data it used to lose.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AppendPlanTests
{
    private static readonly SessionKey Key = new("p", "s");
    private readonly MemoryTranscriptStore _store = new(TimeProvider.System);

    private static TranscriptLine L(string json) => EntryParser.ParseLine(Encoding.UTF8.GetBytes(json), new EntryLimits());

    private static TranscriptLine U(string uuid) => L($$$"""{"type":"user","uuid":"{{{uuid}}}","message":{"role":"user","content":"{{{uuid}}}"}}""");

    private static TranscriptLine Title(string title) => L($$"""{"type":"custom-title","customTitle":"{{title}}","sessionId":"s"}""");

    private static TranscriptLine Tag(string tag) => L($$"""{"type":"tag","tag":"{{tag}}","sessionId":"s"}""");

    private async Task<List<string>> AppendAll(params TranscriptLine[][] batches)
    {
        foreach (var batch in batches)
        {
            await _store.AppendAsync("t", Key, batch, null, CancellationToken.None);
        }

        await using var stream = (await _store.OpenReadAsync("t", Key, 0, null, CancellationToken.None))!;
        using var reader = new StreamReader(stream);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private static string S(TranscriptLine line) => Encoding.UTF8.GetString(line.Json.Span);

    [Fact]
    public async Task Append_TitleAfterAStoredUuid_IsKept()
    {
        // Lost before: [u1] then [u1, T] dropped T (every uuid of the batch was stored).
        var lines = await AppendAll([U("u1")], [U("u1"), Title("kept")]);
        Assert.Equal([S(U("u1")), S(Title("kept"))], lines);
    }

    [Fact]
    public async Task Append_SameBatchTwice_WritesItOnce()
    {
        var lines = await AppendAll([U("u1"), Title("t")], [U("u1"), Title("t")]);
        Assert.Equal([S(U("u1")), S(Title("t"))], lines);
    }

    [Fact]
    public async Task Append_UuidlessBatchTwice_IsAppendedTwice()
    {
        var lines = await AppendAll([Title("t")], [Title("t")]);
        Assert.Equal(2, lines.Count);
    }

    [Fact]
    public async Task Append_TagXThenYThenXAgain_KeepsThree()
    {
        var lines = await AppendAll([U("u1")], [Tag("x")], [Tag("y")], [Tag("x")]);
        Assert.Equal([S(U("u1")), S(Tag("x")), S(Tag("y")), S(Tag("x"))], lines);
    }

    [Fact]
    public async Task Import_FileTwiceInBatchesHoldingAUuid_LeavesItUnchanged()
    {
        TranscriptLine[] file = [U("a"), Title("one"), U("b"), Tag("x"), Title("two")];
        var first = await AppendAll(file[..2], file[2..]);
        var second = await AppendAll(file[..2], file[2..]);
        Assert.Equal(first, second);
        Assert.Equal(5, second.Count);
    }

    [Fact]
    public async Task Replay_ThenANewTagEqualToTheNextStoredLine_IsAppended()
    {
        // Lost before (issue 22 §5): a replay that stopped inside the log was "continued" by the next uuid-less batch
        // for 60 s, so a new [tag x] equal to the stored line after the replay was dropped and the tag stayed y.
        await AppendAll([U("a1"), Tag("x"), Tag("y")]);
        var lines = await AppendAll([U("a1")], [Tag("x")]);
        Assert.Equal([S(U("a1")), S(Tag("x")), S(Tag("y")), S(Tag("x"))], lines);
    }

    [Fact]
    public async Task Import_AfterALocalRename_AddsTheNewLineOnce()
    {
        TranscriptLine[] file = [U("a"), Title("one"), U("b"), Tag("x")];
        await AppendAll([.. file]);
        TranscriptLine[] renamed = [.. file, Title("renamed")];
        var lines = await AppendAll(renamed[..2], renamed[2..]);
        Assert.Equal(renamed.Select(S), lines);
        Assert.Equal(renamed.Select(S), await AppendAll([.. renamed]));
    }

    [Fact]
    public async Task Import_DivergedFileTwice_AddsTheLocalTitleOnce()
    {
        // Lost before (issue 22 §5): after a rename and a new message on the server and another rename in the local
        // file, every import of the file appended the local title again.
        await AppendAll([U("a"), U("b")]);
        await AppendAll([Title("server")], [U("c")]);
        TranscriptLine[] local = [U("a"), U("b"), Title("local")];
        var once = await AppendAll([.. local]);
        var twice = await AppendAll([.. local], [.. local]);
        Assert.Equal([S(U("a")), S(U("b")), S(Title("server")), S(U("c")), S(Title("local"))], once);
        Assert.Equal(once, twice);
    }

    [Fact]
    public async Task Replay_ReserializedByJavaScript_StillMatchesInPlace()
    {
        // The SDK re-serializes what it replays: escapes and spacing differ, the entry is the same.
        await AppendAll([U("a"), L("""{"type":"custom-title","customTitle":"caf\u00e9 \/ x","sessionId":"s"}""")]);
        var lines = await AppendAll([U("a"), L("""{"type":"custom-title","customTitle":"café / x","sessionId":"s"}""")]);
        Assert.Equal(2, lines.Count);
    }

    [Fact]
    public async Task Batch_LeadingTitleBeforeStoredUuid_AlignsBackwards()
    {
        await AppendAll([U("a"), Title("t"), U("b")]);
        var lines = await AppendAll([Title("t"), U("b")]);
        Assert.Equal(3, lines.Count);
    }

    [Fact]
    public async Task IdempotencyKey_RepeatedCall_WritesNothingAndAnswersAsTheFirst()
    {
        var keys = new Sessions.IdempotencyKeys();
        var calls = 0;
        Task<AppendResult> Append()
        {
            calls++;
            return _store.AppendAsync("t", Key, [Title("t")], null, CancellationToken.None);
        }

        var first = await keys.RunOnceAsync(null, "k1", 1_000, Append);
        var retry = await keys.RunOnceAsync(null, "k1", 2_000, Append);
        var other = await keys.RunOnceAsync(null, "k2", 3_000, Append);
        // Past the hour a key is forgotten; another log's key is its own.
        var later = await keys.RunOnceAsync(null, "k1", 2_000 + Sessions.IdempotencyKeys.RetentionMs + 1, Append);
        var subpath = await keys.RunOnceAsync("subagents/agent-1", "k2", 3_000, Append);
        Assert.Equal(4, calls);
        Assert.Equal(first, retry);
        Assert.Equal(1, other.Appended);
        Assert.NotEqual(first, later);
        Assert.NotEqual(other, subpath);
    }

    [Fact]
    public void EntryParser_DuplicateKey_IsRefusedBeforeAnythingIsWritten()
    {
        var ex = Assert.Throws<InvalidEntryException>(() => EntryParser.ParseArray(
            Encoding.UTF8.GetBytes("""[{"type":"user","type":"user","uuid":"d","message":{"role":"user","content":"x"}}]"""), new EntryLimits()));
        Assert.Contains("repeats a key", ex.Message, StringComparison.Ordinal);
    }
}
