using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Console;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>The common Claude Code tools rendered for what they are (unit tests: no server, no browser).</summary>
[Trait("Category", "Unit")]
public sealed class ToolViewsTests
{
    private static ToolView? Of(string name, string input) => ToolViews.Of(name, JsonNode.Parse(input), 64 * 1024);

    [Fact]
    public void Edit_IsADiff_WithTheSharedLinesOnceAsContext()
    {
        var view = Of("Edit", """{"file_path":"src/a.cs","old_string":"a\nold 1\nold 2\nz","new_string":"a\nnew\nz"}""")!;

        Assert.Equal("src/a.cs", view.Gist);
        var diff = Assert.Single(view.Parts);
        Assert.Equal("diff", diff.Class);
        Assert.Equal([("  a", null), ("- old 1", "del"), ("- old 2", "del"), ("+ new", "add"), ("  z", null)], diff.Lines);
    }

    [Fact]
    public void MultiEditBashWriteReadGrepTodoWriteAndTask_ReadAsWhatTheyAre()
    {
        var multi = Of("MultiEdit", """{"file_path":"f","edits":[{"old_string":"x","new_string":"y"},{"old_string":"p","new_string":"q"}]}""")!;
        Assert.Equal(["f — edit 1 of 2", "f — edit 2 of 2"], multi.Parts.Select(p => p.Label));

        var bash = Of("Bash", """{"command":"make && ./run \"fast\" < in.txt\nsecond line","description":"Build"}""")!;
        Assert.Equal("make && ./run \"fast\" < in.txt", bash.Gist);
        Assert.Equal(("Command — Build", "cmd"), (bash.Parts[0].Label, bash.Parts[0].Class));
        Assert.Equal("make && ./run \"fast\" < in.txt\nsecond line", bash.Parts[0].Lines[0].Text);

        Assert.Equal("Text of notes.md", Of("Write", """{"file_path":"notes.md","content":"# café"}""")!.Parts[0].Label);
        Assert.Equal("a.txt (lines 10–29)", Of("Read", """{"file_path":"a.txt","offset":10,"limit":20}""")!.Gist);
        Assert.Equal("a.txt", Of("Read", """{"file_path":"a.txt"}""")!.Gist);
        Assert.Equal("TODO  in src files *.cs", Of("Grep", """{"pattern":"TODO","path":"src","glob":"*.cs"}""")!.Gist);

        var todos = Of("TodoWrite", """{"todos":[{"content":"one","status":"completed"},{"content":"two","status":"in_progress"},{"content":"three","status":"pending"}]}""")!;
        Assert.Equal("1 of 3 done", todos.Gist);
        Assert.Equal([("[x] one", "done"), ("[~] two", "doing"), ("[ ] three", "todo")], todos.Parts[0].Lines);

        var task = Of("Task", """{"description":"Explore","prompt":"look around","subagent_type":"Explore"}""")!;
        Assert.Equal(("Explore", "Prompt (Explore agent)"), (task.Gist, task.Parts[0].Label));
    }

    [Fact]
    public void UnknownToolsAndInputsOfAnotherShape_HaveNoView_AndHiddenCharactersStayVisible()
    {
        Assert.Null(Of("mcp__thing", """{"command":"ls"}"""));
        Assert.Null(Of("Bash", """{"command":5}"""));
        Assert.Null(Of("Edit", """{"file_path":"f","old_string":"a"}"""));
        Assert.Null(Of("MultiEdit", """{"file_path":"f","edits":[{"old_string":1,"new_string":"y"}]}"""));
        Assert.Null(Of("TodoWrite", """{"todos":[{"status":"completed"}]}"""));
        Assert.Null(ToolViews.Of("Bash", JsonValue.Create("ls"), 100));
        Assert.Equal("a.txt (lines 1–1)", Of("Read", """{"file_path":"a.txt","offset":1,"limit":1}""")!.Gist);
        Assert.Equal("a.txt", Of("Read", """{"file_path":"a.txt","offset":-4,"limit":1e300}""")!.Gist);

        var bash = Of("Bash", "{\"command\":\"rm -rf ./\u202Etxt.exe\u200B\\r\"}")!;
        Assert.Equal("rm -rf ./\\u202Etxt.exe\\u200B\\u000D", bash.Parts[0].Lines[0].Text);
        var cut = Of("Write", "{\"file_path\":\"big\",\"content\":\"" + new string('x', 200) + "\"}")!.Parts[0].Lines[0].Text;
        Assert.Equal(200, cut.Length);
        Assert.Contains("more characters", ToolViews.Of("Write", JsonNode.Parse("{\"file_path\":\"big\",\"content\":\"" + new string('x', 200) + "\"}"), 50)!.Parts[0].Lines[0].Text, StringComparison.Ordinal);
    }
}
