using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Console;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>How the console turns the SDK's messages into a page (unit tests: no server, no browser).</summary>
[Trait("Category", "Unit")]
public sealed class TranscriptModelTests
{
    private static JsonObject Message(string type, string uuid, JsonNode content) =>
        new() { ["type"] = type, ["uuid"] = uuid, ["message"] = new JsonObject { ["role"] = type, ["content"] = content } };

    [Fact]
    public void ToolInputs_ReadAsText_WithoutUnicodeEscapes()
    {
        var input = new JsonObject { ["command"] = "make && ./run \"fast\" < in.txt", ["note"] = "café ✓", ["file"] = "Inv\u202Eexe.fdp\u200B" };
        var messages = new List<JsonObject>
        {
            Message("assistant", "a1", new JsonArray(new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_1", ["name"] = "Bash", ["input"] = input })),
        };
        var transcript = Encoding.UTF8.GetBytes("""{"type":"assistant","uuid":"a1","message":{"role":"assistant","content":[]}}""" + "\n");

        var call = Assert.IsType<ToolCallBlock>(Assert.Single(TranscriptModelBuilder.Build(messages, transcript, 0, 100).Messages).Blocks[0]);

        Assert.Contains("make && ./run \\\"fast\\\" < in.txt", call.Input, StringComparison.Ordinal);
        Assert.Contains("café ✓", call.Input, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u00", call.Input, StringComparison.Ordinal);
        // What is invisible or reorders text stays an escape.
        Assert.Contains("Inv\\u202Eexe.fdp\\u200B", call.Input, StringComparison.Ordinal);
        Assert.DoesNotContain('\u202E', call.Input);
        Assert.Equal(input.ToJsonString(), JsonNode.Parse(call.Input)!.ToJsonString());
    }

    [Fact]
    public void ToolResults_JoinTheirCalls_ResultOnlyMessagesAreLeftOut_AndTheSubagentIsLinked()
    {
        var messages = new List<JsonObject>
        {
            Message("user", "u1", JsonValue.Create("explore")!),
            Message("assistant", "a1", new JsonArray(
                new JsonObject { ["type"] = "thinking", ["thinking"] = "hmm" },
                new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_1", ["name"] = "Task", ["input"] = new JsonObject { ["prompt"] = "look" } })),
            Message("user", "u2", new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "toolu_1", ["content"] = "found it", ["is_error"] = false })),
            Message("assistant", "a2", new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "done" })),
        };
        var transcript = Encoding.UTF8.GetBytes(string.Join('\n',
            """{"type":"user","uuid":"u1","message":{"role":"user","content":"explore"}}""",
            """{"type":"assistant","uuid":"a1","message":{"role":"assistant","content":[]}}""",
            """{"type":"user","uuid":"u2","toolUseResult":{"agentId":"abc123","status":"completed"},"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"found it"}]}}""",
            """{"type":"progress","data":{"uuid":"a2"},"uuid":"p1"}""",
            """{"type":"assistant","uuid":"a2","message":{"role":"assistant","content":[{"type":"text","text":"done"}]}}""") + "\n");

        var page = TranscriptModelBuilder.Build(messages, transcript, 0, 100);

        Assert.Equal(3, page.Total);
        Assert.Equal(["u1", "a1", "a2"], page.Messages.Select(m => m.Uuid));
        var call = Assert.IsType<ToolCallBlock>(page.Messages[1].Blocks[1]);
        Assert.Equal(("Task", "found it", false, "abc123"), (call.Name, call.Result, call.IsError, call.AgentId));
        Assert.IsType<ThinkingBlock>(page.Messages[1].Blocks[0]);
        // Each message's raw line is found by its top-level uuid, never by one nested in another entry.
        Assert.Contains("\"text\":\"done\"", page.Messages[2].Raw, StringComparison.Ordinal);
        Assert.StartsWith("{\"type\":\"user\",\"uuid\":\"u1\"", page.Messages[0].Raw, StringComparison.Ordinal);
    }

    [Fact]
    public void Pages_CountOnlyShownMessages_AndAnOffsetPastTheEndShowsTheLast()
    {
        var messages = Enumerable.Range(0, 250).Select(i => Message(i % 2 == 0 ? "user" : "assistant", $"m{i}", JsonValue.Create($"text {i}")!)).ToList();
        var second = TranscriptModelBuilder.Build(messages, [], 100, 100);
        Assert.Equal((250, 100, 100, "m100"), (second.Total, second.Offset, second.Messages.Count, second.Messages[0].Uuid));
        var past = TranscriptModelBuilder.Build(messages, [], 10_000, 100);
        Assert.Equal(("m249", 1), (past.Messages[0].Uuid, past.Messages.Count));
    }

    [Fact]
    public void Images_OnlyRasterBase64_LongTextIsCut()
    {
        var svg = Convert.ToBase64String("<svg onload=alert(1)>"u8.ToArray());
        var messages = new List<JsonObject>
        {
            Message("assistant", "a", new JsonArray(
                new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "image/png", ["data"] = "iVBORw0KGgo=" } },
                new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "image/svg+xml", ["data"] = svg } },
                new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["media_type"] = "image/png", ["data"] = "\"><script>" } },
                new JsonObject { ["type"] = "text", ["text"] = new string('y', TranscriptModelBuilder.MaxShownChars + 10) })),
        };
        var blocks = TranscriptModelBuilder.Build(messages, [], 0, 10).Messages[0].Blocks;
        Assert.IsType<ImageBlock>(blocks[0]);
        Assert.IsType<OtherBlock>(blocks[1]);
        Assert.IsType<OtherBlock>(blocks[2]);
        Assert.Contains("10 more characters", Assert.IsType<TextBlock>(blocks[3]).Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<script>alert(1)</script>", "<script")]
    [InlineData("[x](javascript:alert(1))", "javascript:")]
    [InlineData("<img src=x onerror=alert(1)>", "<img")]
    [InlineData("![x](https://evil.example/t.png)", "<img")]
    [InlineData("<a href=\"https://x\" onclick=\"alert(1)\">x</a>", "onclick=\"alert(1)\">")]
    public void Markdown_NeverEmitsAnythingThatRunsOrLoads(string markdown, string forbidden) =>
        Assert.DoesNotContain(forbidden, ConsoleMarkdown.ToHtml(markdown), StringComparison.OrdinalIgnoreCase);

    [Fact]
    public void Markdown_KeepsFormattingAndSafeLinks()
    {
        var html = ConsoleMarkdown.ToHtml("**bold** and [docs](https://example.com) and `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |");
        Assert.Contains("<strong>bold</strong>", html, StringComparison.Ordinal);
        Assert.Contains("href=\"https://example.com\"", html, StringComparison.Ordinal);
        Assert.Contains("rel=\"noopener noreferrer nofollow\"", html, StringComparison.Ordinal);
        Assert.Contains("<table>", html, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("Category", "Console")]
    [InlineData(128, '>', "nested too deeply")]
    [InlineData(20_001, 'x', "longer than")]
    public void Markdown_ThatCannotOrMayNotRender_IsPlainText_WithTheReason(int length, char c, string reason)
    {
        var text = new string(c, length) + "<script>alert(1)</script>";
        var rendered = ConsoleMarkdown.Render(text, new MarkdownBudget());
        Assert.Contains(reason, rendered.PlainReason, StringComparison.Ordinal);
        Assert.StartsWith("<pre class=\"plain\">", rendered.Html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", rendered.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", rendered.Html, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Console")]
    public void Markdown_OfA64KPipeTable_IsBoundedAndPlain_AndASpentPageBudget_LeavesTheRestPlain()
    {
        // 64 K of table pipes became 1.3 MB of HTML and ~18 s of work before the bounds; a page of them, minutes.
        var pipes = "a|b\n-|-\n" + new string('|', 19_000);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var rendered = ConsoleMarkdown.Render(pipes, new MarkdownBudget());
        Assert.Equal("too much formatting", rendered.PlainReason);
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(2), "one bounded message took over 2 s");

        var budget = new MarkdownBudget();
        Assert.Null(ConsoleMarkdown.Render("**still rendered**", budget).PlainReason);
        budget.Charge(MarkdownBudget.PageTime);
        var late = ConsoleMarkdown.Render("**late**", budget);
        Assert.Equal("this page's time for formatting is spent", late.PlainReason);
        Assert.Contains("**late**", late.Html, StringComparison.Ordinal);
    }
}
