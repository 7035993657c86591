using System.Net;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Server.Console.Components;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// Console pages at their edges, over HTTP on an open server (issue 22 §3): error answers keep the security headers,
/// the fork and delete pages of a session the caller cannot see are 404 as its page is, a <c>?done=</c> in someone
/// else's link shows no success notice, and invisible or reordering characters in titles, ids and keys are shown.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ConsolePageEdgeTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    [Trait("Category", "Console")]
    public async Task ErrorAnswers_KeepTheSecurityHeaders_AndForkOrDeleteOfAnUnseenSession_Is404()
    {
        foreach (var path in new[] { "console/projects/nope/sessions/missing/download", "console/projects/nope/sessions/missing/fork", "console/projects/nope/sessions/missing/delete", "console/projects/nope/sessions/missing" })
        {
            using var response = await server.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
            Assert.Equal(ConsoleRegistration.ContentSecurityPolicy, string.Join(",", response.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal("DENY", string.Join(",", response.Headers.GetValues("X-Frame-Options")));
            Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
            var page = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("<form method=\"post\"", page, StringComparison.Ordinal);
        }
    }

    [Fact]
    [Trait("Category", "Console")]
    public async Task ADoneInSomeoneElsesLink_ShowsNoNotice_AndBidiOrInvisibleCharacters_AreShown()
    {
        var pk = "edge\u202Ekey";
        var id = "s\u200B1";
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Uri.EscapeDataString(pk)}/sessions/{Uri.EscapeDataString(id)}/entries", $"[{Calls.Entry("u1")}]")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Uri.EscapeDataString(pk)}/sessions/{Uri.EscapeDataString(id)}/rename", "{\"title\":\"Inv\u202Eexe.fdp\"}")).Status);

        var page = WebUtility.HtmlDecode(await server.Http.GetStringAsync($"console/projects/{Uri.EscapeDataString(pk)}/sessions/{Uri.EscapeDataString(id)}?done=forked"));
        Assert.DoesNotContain("This is the new fork", page, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"notice\"", page, StringComparison.Ordinal);
        Assert.Contains("<h1 id=\"title\">Inv[U+202E]exe.fdp</h1>", page, StringComparison.Ordinal);
        Assert.Contains("<span id=\"session-id\" data-copy=\"session id\">s[U+200B]1</span>", page, StringComparison.Ordinal);
        Assert.Contains(">edge[U+202E]key</a>", page, StringComparison.Ordinal);
        // Only the rename field holds the title as it is (to edit it); nothing shown as text does.
        Assert.Equal(1, page.Split('\u202E').Length - 1);
        var project = WebUtility.HtmlDecode(await server.Http.GetStringAsync($"console/projects/{Uri.EscapeDataString(pk)}"));
        Assert.Contains(">Inv[U+202E]exe.fdp</a>", project, StringComparison.Ordinal);
        Assert.DoesNotContain("\u202E", project, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("plain title", "plain title")]
    [InlineData("Inv\u202Eexe.fdp", "Inv[U+202E]exe.fdp")]
    [InlineData("a\u2066b\u2069c\u200Fd", "a[U+2066]b[U+2069]c[U+200F]d")]
    [InlineData("zero\u200Bwidth\uFEFF\u00AD", "zero[U+200B]width[U+FEFF][U+00AD]")]
    [InlineData("line\u2028tab\t", "line[U+2028]tab[U+0009]")]
    [InlineData("family \U0001F468\u200D\U0001F469\u200D\U0001F467", "family \U0001F468\u200D\U0001F469\u200D\U0001F467")]
    [InlineData("a\u200Db", "a[U+200D]b")]
    [InlineData("\u3164", "[U+3164]")]
    public void Shown_MakesInvisibleAndReorderingCharactersVisible_AndKeepsEmojiSequences(string text, string shown) =>
        Assert.Equal(shown, Links.Shown(text));
}
