using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>The console's full history of a transcript and the facts counted over it (unit tests: no server, no browser).</summary>
[Trait("Category", "Unit")]
public sealed class TranscriptHistoryTests
{
    private static byte[] BigTranscript() => File.ReadAllBytes(Path.Combine(RepoPaths.ClaudeFixtures, "projects",
        ConsoleBrowserTests.BigProject, ConsoleBrowserTests.BigSession + ".jsonl"));

    [Fact]
    public void FullHistory_OfARealCompactedSession_HoldsWhatCameBeforeTheCompaction_InFileOrder()
    {
        var transcript = BigTranscript();
        var history = TranscriptHistory.Read(transcript);

        var boundary = history.FindIndex(e => (string?)e["subtype"] == "compact_boundary");
        Assert.True(boundary > 0, "the fixture's compaction boundary is in the history");
        // What came before the compaction (16:02–20:30): the SDK's chain starts at the boundary; the history has it all.
        Assert.True(history.Take(boundary).Count(e => (string?)e["type"] is "user" or "assistant") >= 191);
        Assert.True(history[boundary + 1]["isCompactSummary"]?.GetValue<bool>() == true, "the compaction's summary follows its boundary");
        var times = history.Select(e => (string?)e["timestamp"]).OfType<string>().ToList();
        Assert.Equal(times.Order(StringComparer.Ordinal), times);
        Assert.Equal(history.Count, history.Select(e => (string?)e["uuid"]).Distinct().Count());

        var page = TranscriptModelBuilder.Build(history, transcript, 0, 100);
        Assert.StartsWith("2026-", page.Messages[0].Timestamp, StringComparison.Ordinal);
        var boundaryItem = Assert.Single(TranscriptModelBuilder.Build(history, transcript, 0, 10_000).Messages, m => m.IsBoundary);
        Assert.Equal("compact_boundary", boundaryItem.Subtype);
        // Other system entries are notes, not boundaries.
        Assert.Contains(TranscriptModelBuilder.Build(history, transcript, 0, 10_000).Messages, m => m is { Type: "system", IsBoundary: false, Subtype: "turn_duration" });
    }

    [Fact]
    public void Facts_OfARealSession_CountEachApiMessageOnce_AndEveryToolCall()
    {
        var facts = SessionFacts.Of(TranscriptHistory.Read(BigTranscript()));

        Assert.Equal(["claude-opus-4-6"], facts.Models);
        Assert.True(facts.Tokens.Output > 0 && facts.Tokens.CacheRead > 0, $"{facts.Tokens}");
        Assert.Contains(facts.ToolCalls, t => t.Tool == "Bash" && t.Calls > 0);
        Assert.True(facts.Duration > TimeSpan.FromHours(4), $"{facts.Duration}");
    }

    [Fact]
    public void Facts_TakeTheLastUsageOfEachApiMessage_AndEachToolCallOnce()
    {
        static JsonObject Assistant(string uuid, string messageId, long output, string at, params JsonNode[] content) => new()
        {
            ["type"] = "assistant", ["uuid"] = uuid, ["timestamp"] = at,
            ["message"] = new JsonObject
            {
                ["id"] = messageId, ["model"] = "m-1", ["role"] = "assistant", ["content"] = new JsonArray(content),
                ["usage"] = new JsonObject { ["input_tokens"] = 3, ["output_tokens"] = output, ["cache_read_input_tokens"] = 100, ["cache_creation_input_tokens"] = 7 },
            },
        };
        var history = new List<JsonObject>
        {
            new() { ["type"] = "user", ["uuid"] = "u1", ["timestamp"] = "2026-01-01T10:00:00Z", ["message"] = new JsonObject { ["role"] = "user", ["content"] = "go" } },
            // One API message written as two entries (one per content block), each repeating its usage so far.
            Assistant("a1", "msg_1", 5, "2026-01-01T10:00:05Z", new JsonObject { ["type"] = "text", ["text"] = "ok" }),
            Assistant("a2", "msg_1", 12, "2026-01-01T10:00:06Z", new JsonObject { ["type"] = "tool_use", ["id"] = "t1", ["name"] = "Bash", ["input"] = new JsonObject() }),
            Assistant("a3", "msg_2", 4, "2026-01-01T10:02:06Z",
                new JsonObject { ["type"] = "tool_use", ["id"] = "t2", ["name"] = "Read", ["input"] = new JsonObject() },
                new JsonObject { ["type"] = "tool_use", ["id"] = "t3", ["name"] = "Bash", ["input"] = new JsonObject() }),
        };

        var facts = SessionFacts.Of(history);

        Assert.Equal(new TokenUsage(null, 6, 16, 200, 14), facts.Tokens);
        Assert.Equal([("Bash", 2), ("Read", 1)], facts.ToolCalls);
        Assert.Equal(TimeSpan.FromSeconds(126), facts.Duration);
        var page = TranscriptModelBuilder.Build(history, [], 0, 100);
        Assert.Equal([null, null, new TokenUsage("m-1", 3, 12, 100, 7), new TokenUsage("m-1", 3, 4, 100, 7)], page.Messages.Select(m => m.Usage));
    }

    [Fact]
    public void OddLines_AreLeftOut_AndNeverBreakThePage()
    {
        var transcript = Encoding.UTF8.GetBytes(string.Join('\n',
            """{"type":"user","uuid":"u1","message":{"role":"user","content":"first"}}""",
            """{"type":"user","uuid":"u2","message":"not an object"}""",
            """{"type":5,"uuid":"u3"}""",
            """{"type":"assistant","uuid":"u4","isSidechain":true,"message":{"role":"assistant","content":[]}}""",
            """{"type":"user","uuid":"u1","message":{"role":"user","content":"a repeated uuid"}}""",
            """{"type":"user","uuid":"u5",""",
            """[1,2,3]""",
            """{"type":"system","uuid":"s1","subtype":"\u202Eodd","content":{"nested":true}}""",
            """{"type":"assistant","uuid":"a1","message":{"role":"assistant","content":[{"type":"text","text":"last"}],"usage":"none"}}""") + "\n");

        var history = TranscriptHistory.Read(transcript);

        Assert.Equal(["u1", "s1", "a1"], history.Select(e => (string?)e["uuid"]));
        var page = TranscriptModelBuilder.Build(history, transcript, 0, 100);
        Assert.Equal(3, page.Total);
        Assert.False(page.Messages[1].IsBoundary);
        Assert.Empty(page.Messages[1].Blocks);
        Assert.Null(page.Messages[2].Usage);
        Assert.Empty(SessionFacts.Of(history).Models);
    }

    [Fact]
    public void At_ShowsThePageHoldingTheMessage()
    {
        var history = Enumerable.Range(0, 250).Select(i => new JsonObject
        {
            ["type"] = "user", ["uuid"] = $"u{i}", ["message"] = new JsonObject { ["role"] = "user", ["content"] = $"m{i}" },
        }).ToList();

        Assert.Equal(100, TranscriptModelBuilder.Build(history, [], 0, 100, at: "u199").Offset);
        Assert.Equal(200, TranscriptModelBuilder.Build(history, [], 0, 100, at: "u200").Offset);
        Assert.Equal(0, TranscriptModelBuilder.Build(history, [], 0, 100, at: "missing").Offset);
        Assert.Contains(TranscriptModelBuilder.Build(history, [], 0, 100, at: "u150").Messages, m => m.Uuid == "u150");
    }
}
