using System.Text;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Core.Tests;

/// <summary>
/// Messages kept and extended by appended lines answer exactly what <see cref="SessionMessages.Build"/> answers over the
/// whole file: on every real transcript of ../shared/fixtures, extended in steps (and one line at a time at its end).
/// </summary>
[Trait("Category", "Unit")]
public sealed class TranscriptMessagesTests
{
    [Fact]
    public void ExtendedByAppends_EveryFixtureAnswersAsAWholeFileBuild()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.ClaudeFixtures, "projects"), "*.jsonl", SearchOption.AllDirectories);
        var compared = 0;
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var lineEnds = LineEnds(bytes);
            var cuts = new SortedSet<int> { bytes.Length };
            for (var step = 1; step < 7; step++)
            {
                cuts.Add(lineEnds[lineEnds.Count * step / 7]);
            }

            foreach (var end in lineEnds.Skip(Math.Max(0, lineEnds.Count - 12)))
            {
                cuts.Add(end);
            }

            var kept = new TranscriptMessages();
            foreach (var cut in cuts)
            {
                Assert.True(kept.TryAppend(bytes.AsSpan((int)kept.Length, cut - (int)kept.Length)), $"{Path.GetFileName(file)} at {cut}");
                Assert.Equal(cut, kept.Length);
                foreach (var withSystem in new[] { false, true })
                {
                    var expected = SessionMessages.Build(TranscriptText.ParseObjects(bytes.AsSpan(0, cut)), withSystem, 0, null).ConvertAll(m => Encoding.UTF8.GetString(JsJson.Stringify(m)));
                    var actual = kept.Messages(withSystem).Select(m => Encoding.UTF8.GetString(m)).ToList();
                    Assert.Equal(expected, actual);
                    compared += actual.Count;
                }
            }
        }

        Assert.True(compared > 5000, $"only {compared} messages were compared");
    }

    [Fact]
    public void AnEditedBranch_MovesTheChainAndTheKeptAnswerFollows()
    {
        // The second user entry branches from the first: the chain is the latest branch, not the first one kept.
        const string first = """{"type":"user","uuid":"u1","parentUuid":null,"sessionId":"s","message":{"role":"user","content":"one"}}""";
        const string answer = """{"type":"assistant","uuid":"a1","parentUuid":"u1","sessionId":"s","message":{"role":"assistant","content":[{"type":"text","text":"two"}]}}""";
        const string edited = """{"type":"user","uuid":"u2","parentUuid":null,"sessionId":"s","message":{"role":"user","content":"one, edited"}}""";
        var kept = new TranscriptMessages();
        Assert.True(kept.TryAppend(Encoding.UTF8.GetBytes(first + "\n" + answer + "\n")));
        Assert.Equal(2, kept.Messages(false).Count);

        Assert.True(kept.TryAppend(Encoding.UTF8.GetBytes(edited + "\n")));
        var messages = kept.Messages(false).Select(m => Encoding.UTF8.GetString(m)).ToList();
        Assert.Single(messages);
        Assert.Contains("one, edited", messages[0], StringComparison.Ordinal);
    }

    [Fact]
    public void BytesContinuingAPartialLine_AreRefused()
    {
        var line = Encoding.UTF8.GetBytes("""{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"a"}}""");
        var partial = new TranscriptMessages();
        Assert.True(partial.TryAppend(line.AsSpan(0, line.Length - 3)));
        Assert.Empty(partial.Messages(false));
        Assert.False(partial.TryAppend([.. line.AsSpan(line.Length - 3), (byte)'\n']));
        Assert.Equal(line.Length - 3, partial.Length);
        Assert.True(partial.TryAppend([]));
    }

    [Fact]
    public void TheEstimate_CountsGraphEntriesByTheirLines_AndNothingElse()
    {
        const string entry = """{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"a"}}""";
        const string title = """{"type":"custom-title","customTitle":"not in the graph","sessionId":"s"}""";
        var kept = new TranscriptMessages();
        Assert.True(kept.TryAppend(Encoding.UTF8.GetBytes(title + "\n")));
        Assert.Equal(0, kept.EstimatedBytes);
        Assert.True(kept.TryAppend(Encoding.UTF8.GetBytes(entry + "\n" + entry.Replace("u1", "u2", StringComparison.Ordinal) + "\n")));
        Assert.Equal(2 * (2048 + (3 * entry.Length)), kept.EstimatedBytes);
    }

    // The offset after each newline of `bytes` (and its end when the last line has none).
    private static List<int> LineEnds(byte[] bytes)
    {
        var ends = new List<int>();
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                ends.Add(i + 1);
            }
        }

        if (ends.Count == 0 || ends[^1] != bytes.Length)
        {
            ends.Add(bytes.Length);
        }

        return ends;
    }
}
