using System.Text;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Tests;

/// <summary>A session's models and token totals, folded entry by entry as its grain keeps them in the catalog row.</summary>
[Trait("Category", "Unit")]
public sealed class SessionUsageTests
{
    private static string Assistant(string uuid, string? messageId, long output, string model = "claude-opus-4-6", string extra = "") =>
        "{\"type\":\"assistant\",\"uuid\":\"" + uuid + "\"" + extra + ",\"message\":{" + (messageId is null ? "" : "\"id\":\"" + messageId + "\",")
        + "\"model\":\"" + model + "\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"usage: \\\"assistant\\\"\"}],"
        + "\"usage\":{\"input_tokens\":3,\"output_tokens\":" + output + ",\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":7}}}";

    private static SessionUsage Fold(params string[] lines)
    {
        var usage = new SessionUsage();
        usage.AddLines(Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"));
        return usage;
    }

    [Fact]
    public void EachApiMessage_CountsOnce_ByItsLastEntry_EvenWithOtherEntriesBetween()
    {
        var usage = Fold(
            """{"type":"user","uuid":"u1","message":{"role":"user","content":"the word \"usage\" and \"assistant\" in a prompt"}}""",
            Assistant("a1", "msg_1", 5),
            """{"type":"user","uuid":"u2","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}}""",
            Assistant("a2", "msg_1", 12),
            Assistant("a3", "msg_2", 4, model: "claude-haiku-4-5"),
            Assistant("a4", null, 1),
            Assistant("a5", "msg_3", 2, model: "<synthetic>"));

        Assert.Equal((4, 12L, 19L, 400L, 28L), (usage.Messages, usage.Input, usage.Output, usage.CacheRead, usage.CacheWrite));
        Assert.Equal(new Dictionary<string, int> { ["claude-opus-4-6"] = 2, ["claude-haiku-4-5"] = 1 }, usage.Models);
        Assert.Equal("claude-opus-4-6", usage.Model);
        Assert.Equal(12 + 400 + 28, usage.Prompt);
    }

    [Fact]
    public void SidechainEntries_EntriesWithoutUuid_AndOddUsage_AreNotCounted_OrCountZero()
    {
        var usage = Fold(
            Assistant("a1", "msg_1", 5, extra: ""","isSidechain":true"""),
            """{"type":"assistant","message":{"id":"msg_2","usage":{"output_tokens":50}}}""",
            """{"type":"assistant","uuid":"a3","message":{"id":"msg_3","usage":"none"}}""",
            """{"type":"assistant","uuid":"a4","message":"usage"}""",
            """{"type":"assistant","uuid":"a5","message":{"id":"msg_5","usage":{"input_tokens":-5,"output_tokens":2.9,"cache_read_input_tokens":"10","cache_creation_input_tokens":1e300}}}""",
            """{"type":"assistant","uuid":"a6","message":{"id":"msg_6","usage":{"output_tokens":9223372036854775000}}}""",
            """{"type":"assistant","uuid":"a7","message":{"id":"msg_7","usage":{"output_tokens":9223372036854775000}}}""",
            """{"type":"assistant","uuid":"a8","message":{"id":"msg_8","usage":{""",
            "[\"usage\",\"assistant\"]");

        Assert.Equal(3, usage.Messages);
        Assert.Equal((0L, long.MaxValue, 0L, 0L), (usage.Input, usage.Output, usage.CacheRead, usage.CacheWrite));
        Assert.Empty(usage.Models);
    }

    [Fact]
    public void AtMostEightModels_EachNameCut_KeepTheRowSmall()
    {
        var lines = Enumerable.Range(0, 20).Select(i => Assistant($"a{i}", $"msg_{i}", 1, model: new string((char)('a' + i), 10_000))).ToArray();
        var usage = Fold(lines);
        Assert.Equal(20, usage.Messages);
        Assert.Equal(SessionUsage.MaxModels, usage.Models.Count);
        Assert.All(usage.Models.Keys, m => Assert.Equal(SessionUsage.MaxModelChars, m.Length));
        Assert.True(usage.ToJson().Length < 2_000, $"{usage.ToJson().Length} characters");
    }

    [Fact]
    public void DeepContent_IsSkipped_AndTheUsageAfterItRead()
    {
        var deep = string.Concat(Enumerable.Repeat("[", 300)) + string.Concat(Enumerable.Repeat("]", 300));
        var usage = Fold("""{"type":"assistant","uuid":"a1","message":{"id":"m","content":""" + deep + ""","model":"x","usage":{"output_tokens":7}}}""");
        Assert.Equal((1, 7L, "x"), (usage.Messages, usage.Output, usage.Model));
    }

    [Fact]
    public void ItsJson_RoundTrips_AndAnEntryOfARememberedMessageStillReplacesItsCount()
    {
        var usage = Fold(Assistant("a1", "msg_1", 5), Assistant("a2", "msg_2", 6));
        usage.Through = 1234;
        var again = SessionUsage.Parse(usage.ToJson())!;
        Assert.Equal(usage.ToJson(), again.ToJson());
        Assert.Equal(1234, again.Through);

        again.Add(Encoding.UTF8.GetBytes(Assistant("a3", "msg_1", 50)));
        Assert.Equal((2, 56L), (again.Messages, again.Output));
        Assert.Equal(2, again.Models["claude-opus-4-6"]);

        Assert.Null(SessionUsage.Parse(null));
        Assert.Null(SessionUsage.Parse("{\"input\":\"x\"}"));
        Assert.Null(SessionUsage.Parse("not json"));
    }

    [Fact]
    public void AddLines_TakesWholeLinesOnly_AndMovesThroughPastThem()
    {
        var bytes = Encoding.UTF8.GetBytes(Assistant("a1", "msg_1", 5) + "\n" + Assistant("a2", "msg_2", 6));
        var usage = new SessionUsage();
        var taken = usage.AddLines(bytes);
        Assert.Equal(Array.IndexOf(bytes, (byte)'\n') + 1, taken);
        Assert.Equal(taken, usage.Through);
        Assert.Equal(1, usage.Messages);
    }
}
