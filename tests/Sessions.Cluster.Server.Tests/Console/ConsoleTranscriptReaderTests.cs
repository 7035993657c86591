using System.Text;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// The console's reader as the session's grain runs it: a page crosses silos as JSON, so every page of a real session
/// and of the hostile transcript reads back as it was written (every kind of block, tool views, facts, hits, fork diff).
/// </summary>
[Trait("Category", "Unit")]
public sealed class ConsoleTranscriptReaderTests
{
    private readonly ConsoleTranscriptReader _reader = new();

    public static TheoryData<string> Transcripts() => ["big", "hostile"];

    [Theory]
    [MemberData(nameof(Transcripts))]
    public void EveryPage_ReadsBackAsWritten(string which)
    {
        var bytes = which == "big"
            ? File.ReadAllBytes(Path.Combine(RepoPaths.ClaudeFixtures, "projects", ConsoleBrowserTests.BigProject, ConsoleBrowserTests.BigSession + ".jsonl"))
            : Encoding.UTF8.GetBytes(string.Join('\n', HostileTranscript.Lines("hostile-1")) + "\n");
        var model = _reader.Build(bytes, bytes.Length);
        var first = ConsoleTranscriptReader.ReadPage(_reader.Answer(model, new TranscriptPageQuery(false, null, null, "the", "parent-1"), null));
        Assert.True(first.HasHistory);
        Assert.NotNull(first.Facts);
        Assert.NotNull(first.Fork);

        for (var offset = 0; offset < first.Model.Total; offset += 100)
        {
            var written = _reader.Answer(model, new TranscriptPageQuery(false, offset, null, "the", "parent-1"), null);
            var read = ConsoleTranscriptReader.ReadPage(written);
            Assert.Equal(Encoding.UTF8.GetString(written), Encoding.UTF8.GetString(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(read, ConsoleTranscriptReader.Json)));
            Assert.Equal(offset, read.Model.Offset);
        }

        var blocks = Enumerable.Range(0, (first.Model.Total + 99) / 100)
            .SelectMany(p => ConsoleTranscriptReader.ReadPage(_reader.Answer(model, new TranscriptPageQuery(false, p * 100, null, null, null), null)).Model.Messages)
            .SelectMany(m => m.Blocks).Select(b => b.GetType()).Distinct().ToList();
        if (which == "big")
        {
            Assert.Contains(typeof(ToolCallBlock), blocks);
            Assert.Contains(typeof(ThinkingBlock), blocks);
            Assert.Contains(typeof(TextBlock), blocks);
        }
    }

    [Fact]
    public void Following_SaysWhatComesAfterAMessage_OrNullWhenItIsNotThere()
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.ClaudeFixtures, "projects", ConsoleBrowserTests.BigProject, ConsoleBrowserTests.BigSession + ".jsonl"));
        var model = _reader.Build(bytes, bytes.Length);
        var history = TranscriptHistory.Read(bytes);
        var uuid = (string)history[10]["uuid"]!;

        var following = ConsoleTranscriptReader.ReadFollowing(_reader.Answer(model, new TranscriptPageQuery(false, null, null, null, null, uuid), null));
        Assert.Equal(new TranscriptFollowing(history.Count - 11, (string?)history[11]["uuid"]), following);
        Assert.Null(ConsoleTranscriptReader.ReadFollowing(_reader.Answer(model, new TranscriptPageQuery(false, null, null, null, null, "nope"), null)));
        // Beyond the size a model reads, there is no full history to answer from: pages are of the SDK's chain.
        var beyond = _reader.Build(null, 1L << 40);
        Assert.False(beyond.HasTranscript);
        Assert.Null(ConsoleTranscriptReader.ReadFollowing(_reader.Answer(beyond, new TranscriptPageQuery(false, null, null, null, null, uuid), null)));
        var page = ConsoleTranscriptReader.ReadPage(_reader.Answer(beyond, new TranscriptPageQuery(false, null, null, null, null), history.Take(5).ToList()));
        Assert.False(page.HasHistory);
        Assert.Null(page.Facts);
        Assert.Equal(5, page.Model.Total);
    }
}
