using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Search;

namespace Sessions.Cluster.Core.Tests;

/// <summary>What the content search indexes of an entry, and how a query is read.</summary>
[Trait("Category", "Unit")]
public sealed class SearchTextTests
{
    private static IndexedMessage? Of(string json) => MessageText.Of((JsonObject)JsonNode.Parse(json)!);

    [Fact]
    public void UserAndAssistantWords_ToolNamesInputsAndResults_AreIndexed_AsPlainText()
    {
        var user = Of("""{"type":"user","uuid":"u1","timestamp":"2026-01-02T03:04:05.000Z","message":{"role":"user","content":"why does the <parser> fail & crash?"}}""")!;
        Assert.Equal(("u1", "user", "why does the <parser> fail & crash?"), (user.Uuid, user.Role, user.Text));
        Assert.Equal(DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), user.Timestamp);

        var assistant = Of("""
            {"type":"assistant","uuid":"a1","message":{"role":"assistant","content":[
              {"type":"thinking","thinking":"secret plan","signature":"c2lnbmF0dXJl"},
              {"type":"text","text":"Let me look."},
              {"type":"tool_use","id":"t1","name":"Bash","input":{"command":"grep -rn \"flaky\" tests && echo ok","timeout":5}}]}}
            """)!;
        Assert.Equal("Let me look.\nBash\ncommand: grep -rn \"flaky\" tests && echo ok\ntimeout: 5", assistant.Text);

        var result = Of("""
            {"type":"user","uuid":"u2","message":{"role":"user","content":[
              {"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"tests/a.cs:3: flaky"},{"type":"image","source":{"type":"base64","data":"iVBORw0KGgo="}}]}]}}
            """)!;
        Assert.Equal("tests/a.cs:3: flaky", result.Text);
    }

    [Theory]
    [InlineData("""{"type":"user","uuid":"m","isMeta":true,"message":{"role":"user","content":"caveat"}}""")]
    [InlineData("""{"type":"user","uuid":"s","isSidechain":true,"message":{"role":"user","content":"side"}}""")]
    [InlineData("""{"type":"system","uuid":"y","content":"compacted"}""")]
    [InlineData("""{"type":"user","message":{"role":"user","content":"no uuid"}}""")]
    [InlineData("""{"type":"assistant","uuid":"i","message":{"role":"assistant","content":[{"type":"image","source":{"type":"base64","data":"AAAA"}}]}}""")]
    public void EntriesTheSdkDoesNotShow_OrWithoutWords_AreNot(string json) => Assert.Null(Of(json));

    [Fact]
    public void AVeryLongMessage_IsCut()
    {
        var text = new string('w', MessageText.MaxChars * 2);
        Assert.Equal(MessageText.MaxChars, Of(new JsonObject { ["type"] = "user", ["uuid"] = "u", ["message"] = new JsonObject { ["content"] = text } }.ToJsonString())!.Text.Length);
        Assert.Single(MessageText.Of(Encoding.UTF8.GetBytes("not json\n" + """{"type":"user","uuid":"u","message":{"content":"hi"}}""" + "\n")));
    }

    [Fact]
    public void Queries_ReadWordsPhrasesExclusionsAndOr()
    {
        var q = SearchQuery.Parse("Flaky \"parser   test\" -windows OR  linux -\"old build\" café");
        Assert.Equal([["flaky"]], q.Groups[0]);
        Assert.Equal([["parser", "test"]], q.Groups[1]);
        Assert.Equal([["linux"]], q.Groups[2]);
        Assert.Equal([["café"]], q.Groups[3]);
        Assert.Equal([["windows"], ["old", "build"]], q.Excluded);
        // OR joins its two neighbours; a leading OR is a word.
        var either = SearchQuery.Parse("linux OR macos OR windows");
        Assert.Equal([["linux"], ["macos"], ["windows"]], Assert.Single(either.Groups));
        Assert.Equal([["or"]], SearchQuery.Parse("OR").Groups[0]);
        // Other characters separate words: a term with several is matched as a phrase.
        Assert.Equal([["c", "sharp"]], SearchQuery.Parse("c#-sharp").Groups[0]);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("-only -exclusions")]
    [InlineData("\"\" -x")]
    [InlineData("*** ??? !!!")]
    public void QueriesWithNothingToFind_AreRefused(string text) =>
        Assert.Equal("invalid_query", Assert.Throws<InvalidRequestException>(() => SearchQuery.Parse(text)).Code);

    [Fact]
    public void AQueryOver200Characters_IsRefused() =>
        Assert.Equal("invalid_query", Assert.Throws<InvalidRequestException>(() => SearchQuery.Parse(new string('a', 201))).Code);

    [Fact]
    public void AnEntryOverTheIndexedSize_IsSkipped_ItsNeighboursAreNot()
    {
        var big = """{"type":"user","uuid":"big","message":{"content":"huge """ + new string('x', MessageText.MaxEntryBytes) + "\"}}";
        var small = """{"type":"assistant","uuid":"small","message":{"content":[{"type":"text","text":"kept"}]}}""";
        var indexed = MessageText.Of(Encoding.UTF8.GetBytes(big + "\n" + small + "\n"));
        Assert.Equal(["small"], indexed.Select(m => m.Uuid));
        // Under the bound, a long entry is indexed (its first MaxChars characters).
        var longOne = """{"type":"user","uuid":"long","message":{"content":"long """ + new string('y', MessageText.MaxChars * 2) + "\"}}";
        Assert.Equal(MessageText.MaxChars, Assert.Single(MessageText.Of(Encoding.UTF8.GetBytes(longOne))).Text.Length);
    }
}
