using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Core.Tests;

/// <summary>Unit tests of the ported SDK scanners (their end-to-end parity is checked against the real SDK in Server.Tests).</summary>
[Trait("Category", "Unit")]
public sealed class SdkTextTests
{
    [Fact]
    public void LastEntryField_TailWindowStartingMidLine_FindsTheEmbeddedEntry()
    {
        var tail = "ncated\",\"x\":1}{\"type\":\"tag\",\"tag\":\"kept\",\"sessionId\":\"s\"}\n{\"type\":\"user\",\"uuid\":\"u\"}\n";
        Assert.Equal("kept", JsText.LastEntryField(tail, "tag", "tag", lenient: true));
        Assert.Null(JsText.LastEntryField(tail, "tag", "tag", lenient: false));
    }

    [Fact]
    public void FirstAndLastStringField_UnescapeJsonStrings()
    {
        var text = "{\"cwd\":\"/a\\\"b\"}\n{\"gitBranch\":\"one\"}\n{\"gitBranch\": \"two\"}\n";
        Assert.Equal("/a\"b", JsText.FirstStringField(text, "cwd"));
        Assert.Equal("two", JsText.LastStringField(text, "gitBranch"));
    }

    [Theory]
    [InlineData("<command-name>/clear</command-name>", "/clear")]
    [InlineData("<bash-input>git status</bash-input>", "! git status")]
    [InlineData("  hello\nworld  ", "hello world")]
    public void FirstPrompt_FromHead_MirrorsTheSdk(string content, string expected)
    {
        var line = System.Text.Json.JsonSerializer.Serialize(new { type = "user", message = new { role = "user", content } });
        Assert.Equal(expected, FirstPrompt.FromHead(line + "\n"));
    }

    [Fact]
    public void FirstPrompt_LongText_IsCutAt200WithEllipsis_NeverSplittingASurrogatePair()
    {
        var content = new string('a', 199) + "😀" + new string('b', 10);
        var line = System.Text.Json.JsonSerializer.Serialize(new { type = "user", message = new { role = "user", content } });
        Assert.Equal(new string('a', 199) + "…", FirstPrompt.FromHead(line));
    }

    [Fact]
    public void PastedContent_IsReplacedByItsBody()
    {
        Assert.Equal("look:body\nlinethanks", PastedContent.Unwrap("look:\n\n<pasted_content id=\"ab12\">\nbody\nline\n</pasted_content id=\"ab12\">\n\nthanks"));
        Assert.Equal("<pasted_content id=\"XYZ1\">\nnot hex\n</pasted_content id=\"XYZ1\">", PastedContent.Unwrap("<pasted_content id=\"XYZ1\">\nnot hex\n</pasted_content id=\"XYZ1\">"));
    }

    [Fact]
    public void SessionInfo_SidechainFirstLine_IsNotListed()
    {
        var head = "{\"type\":\"user\",\"isSidechain\":true,\"message\":{\"content\":\"x\"}}\n";
        Assert.Null(SessionInfoReader.Read("s", head, head, 1, head.Length));
    }
}

/// <summary>Project keys from a working directory, as the SDK's <c>la</c> derives them (values computed by the SDK's own formula).</summary>
[Trait("Category", "Unit")]
public sealed class ProjectKeysTests
{
    [Theory]
    [InlineData("/home/u/my.project_x", "-home-u-my-project-x")]
    [InlineData("/home/user/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/very-long-directory-name/été",
        "-home-user-very-long-directory-name-very-long-directory-name-very-long-directory-name-very-long-directory-name-very-long-directory-name-very-long-directory-name-very-long-directory-name-very-long-dire-8a6h4r")]
    public void FromCwd_MirrorsTheSdk(string cwd, string expected) => Assert.Equal(expected, ProjectKeys.FromCwd(cwd));
}
