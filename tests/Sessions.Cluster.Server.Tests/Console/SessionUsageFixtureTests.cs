using System.Text;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// The totals a session's grain keeps in its catalog row, folded batch by batch, equal the totals the console's session
/// page counts over the whole history — on every real transcript of the fixtures, cut into batches at random with the
/// count written to and read back from its JSON between batches (a new activation reading its row).
/// </summary>
[Trait("Category", "Unit")]
public sealed class SessionUsageFixtureTests
{
    public static TheoryData<string> Transcripts()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoPaths.ClaudeFixtures, "projects"), "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepoPaths.ClaudeFixtures, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Transcripts))]
    public void FoldedInRandomBatches_WithARoundTripBetween_EqualsTheWholeHistorysFacts(string transcript)
    {
        var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.ClaudeFixtures, transcript));
        var lines = Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var facts = SessionFacts.Of(TranscriptHistory.Read(bytes));
        var random = new Random(transcript.Length);

        var usage = new SessionUsage();
        for (var at = 0; at < lines.Length;)
        {
            var batch = Math.Min(lines.Length - at, random.Next(1, 12));
            foreach (var line in lines.AsSpan(at, batch))
            {
                usage.Add(Encoding.UTF8.GetBytes(line));
            }

            at += batch;
            usage = SessionUsage.Parse(usage.ToJson())!;
        }

        Assert.Equal((facts.Tokens.Input, facts.Tokens.Output, facts.Tokens.CacheRead, facts.Tokens.CacheWrite), (usage.Input, usage.Output, usage.CacheRead, usage.CacheWrite));
        Assert.Equal(facts.Models.Order(StringComparer.Ordinal), usage.Models.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(facts.Models.FirstOrDefault(), usage.Model);
    }
}
