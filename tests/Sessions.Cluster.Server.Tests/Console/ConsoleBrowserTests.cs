using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;
using Xunit.Abstractions;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// The web console in real headless Chromium against a real embedded server holding the imported fixtures: find a
/// session by search, open it, expand a tool call, open a subagent, fork at a message and land on the fork, rename,
/// tag, delete. Saves the README's screenshots (docs/console) and prints the 3 MB transcript's first paint.
/// </summary>
[Trait("Category", "Browser")]
public sealed class ConsoleBrowserTests(ServerFixture server, ChromiumBrowser chromium, ITestOutputHelper output)
    : IClassFixture<ServerFixture>, IClassFixture<ChromiumBrowser>
{
    /// <summary>The 3.1 MB fixture session (1,500 entries, two subagents, compaction boundaries).</summary>
    internal const string BigProject = "-home-USER-projects-spotter-worktrees-spotter-dov";

    internal const string BigSession = "4d5611e5-241a-462a-8d15-5122611a9569";

    internal static string ScreenshotDir => Path.Combine(RepoPaths.Root, "docs", "console");

    /// <summary>
    /// Where a README screenshot is written: only when asked (<c>SESSIONS_SCREENSHOTS=1</c>); otherwise null, and the
    /// page is still captured (it must render) but nothing in the tree changes.
    /// </summary>
    internal static string? Shot(string name) =>
        Environment.GetEnvironmentVariable("SESSIONS_SCREENSHOTS") is "1" or "true" ? Path.Combine(ScreenshotDir, name) : null;

    [Fact]
    public async Task Console_FindOpenExpandSubagentForkRenameTagDelete()
    {
        var (code, _, err) = await server.CliAsync("import", RepoPaths.CopyFixtures());
        Assert.True(code == 0, err);
        // In Tokyo: the console's script shows times in the reader's zone.
        await using var context = await chromium.NewContextAsync(server.BaseUrl, "Asia/Tokyo");
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"]);
        var page = await context.NewPageAsync();
        var errors = ChromiumBrowser.Errors(page);

        // Projects, with counts.
        var home = await page.GotoAsync("/");
        Assert.Equal(200, home!.Status);
        await Assertions.Expect(page.Locator("#projects")).ToContainTextAsync(BigProject);
        await ChromiumBrowser.AssertAccessibleAsync(page, "the projects page");
        Directory.CreateDirectory(ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("projects.png") });

        // Search from the header, then open the result.
        await page.FillAsync("header input[name=q]", BigSession[..8]);
        await page.PressAsync("header input[name=q]", "Enter");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/search"));
        await page.ClickAsync($"a.session-link[href*='{BigSession}']");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(BigSession + "$"));
        await Assertions.Expect(page.Locator("#session-id")).ToHaveTextAsync(BigSession);
        Assert.True(await page.Locator("article.msg").CountAsync() is > 0 and <= 100, "the transcript is paged");
        var coldPaint = await FirstPaintAsync(page);
        // Opened again: the server's code is compiled and the session's grain active, as for anyone but the first reader.
        await page.ReloadAsync();
        var warmPaint = await FirstPaintAsync(page);
        output.WriteLine($"first contentful paint of the 3.1 MB transcript (first 100 messages): first open after the import {coldPaint:F0} ms, opened again {warmPaint:F0} ms");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("session.png") });

        // Two views: the full history (the default) holds what came before the compaction, with its facts; what the
        // model sees starts at the compaction. A message's link opens the page holding it in either.
        await Assertions.Expect(page.Locator("#view-full")).ToHaveAttributeAsync("aria-current", "page");
        await ChromiumBrowser.AssertAccessibleAsync(page, "a session's full history");
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Dark });
        await ChromiumBrowser.AssertAccessibleAsync(page, "a session's full history in dark mode");
        await page.EmulateMediaAsync(new PageEmulateMediaOptions { ColorScheme = ColorScheme.Light });
        await Assertions.Expect(page.Locator("#tokens")).ToContainTextAsync(" out");

        // Times in the reader's zone (Tokyo, UTC+9) with how long ago; the exact UTC time on hover.
        var created = page.Locator("dl.facts time").First;
        await Assertions.Expect(created).ToHaveAttributeAsync("title", new Regex(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"));
        await Assertions.Expect(created).ToContainTextAsync(" ago)");
        var utcHour = int.Parse((await created.GetAttributeAsync("title"))!.Substring(11, 2), System.Globalization.CultureInfo.InvariantCulture);
        var tokyoHour = (utcHour + 9) % 12 is 0 ? 12 : (utcHour + 9) % 12;
        await Assertions.Expect(created).ToContainTextAsync(new Regex($@"\b0?{tokyoHour}:\d\d"));

        // Copy buttons beside the id and the commands.
        await Assertions.Expect(page.Locator("button.copy")).ToHaveCountAsync(3);
        await page.Locator("#session-id + button.copy").ClickAsync();
        await Assertions.Expect(page.Locator("#session-id + button.copy")).ToHaveTextAsync("Copied");
        Assert.Equal(BigSession, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));

        // Search inside the transcript: every hit listed and highlighted, and each leads to the next.
        await page.FillAsync("form.transcript-search input[name=q]", "compact");
        await page.PressAsync("form.transcript-search input[name=q]", "Enter");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("q=compact"));
        var listed = await page.Locator("#hits ol.transcript-hits li").CountAsync();
        Assert.True(listed > 1, $"several messages of the 3 MB session mention 'compact' ({listed})");
        await Assertions.Expect(page.Locator("article.msg.hit mark").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("article.msg.hit mark").First).ToHaveTextAsync(new Regex("^compact$", RegexOptions.IgnoreCase));
        await ChromiumBrowser.AssertAccessibleAsync(page, "a transcript's search hits");
        var firstHit = (await page.Locator("article.msg.hit").First.GetAttributeAsync("id"))!;
        await page.Locator("article.msg.hit a.next-hit").First.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("q=compact.*at=.*#m-"));
        Assert.NotEqual(firstHit, new Uri(page.Url).Fragment.TrimStart('#'));
        await Assertions.Expect(page.Locator(new Uri(page.Url).Fragment + ".hit")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#models")).ToHaveTextAsync("claude-opus-4-6");
        var fullTotal = await TotalAsync(page);
        await page.ClickAsync("#view-model");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("view=model"));
        var modelTotal = await TotalAsync(page);
        Assert.True(modelTotal < fullTotal, $"what the model sees ({modelTotal}) is less than the full history ({fullTotal})");
        await Assertions.Expect(page.Locator("article.msg .boundary").First).ToBeVisibleAsync();
        await ChromiumBrowser.AssertAccessibleAsync(page, "what the model sees");
        await page.ClickAsync("#view-full");
        await page.Locator("nav.pager a.next").First.ClickAsync();
        var deep = page.Locator("article.msg").Nth(5);
        var deepId = (await deep.GetAttributeAsync("id"))!;
        await page.GotoAsync($"/console/projects/{BigProject}/sessions/{BigSession}?at={Uri.EscapeDataString(deepId["m-".Length..])}");
        await Assertions.Expect(page.Locator($"[id='{deepId}']")).ToBeVisibleAsync();
        await page.Locator($"[id='{deepId}'] a.permalink").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("at=.*#" + Regex.Escape(deepId) + "$"));
        await page.GotoAsync($"/console/projects/{BigProject}/sessions/{BigSession}");

        // On a phone's width nothing is wider than the screen; a skip link leads past the header.
        await page.SetViewportSizeAsync(390, 844);
        Assert.True(await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth") <= 390, "the session page fits 390 px");
        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(page.Locator("a.skip")).ToBeFocusedAsync();
        await page.SetViewportSizeAsync(1280, 900);

        // A tool call is collapsed until clicked; then its input shows.
        var tool = page.Locator("details.tool").First;
        Assert.Null(await tool.GetAttributeAsync("open"));
        await tool.Locator(":scope > summary").ClickAsync();
        await Assertions.Expect(tool.Locator("pre").First).ToBeVisibleAsync();
        await page.Locator("details.tool[open]").First.ScreenshotAsync(new LocatorScreenshotOptions { Path = Shot("tool-call.png") });

        // The later page of messages.
        await page.ClickAsync("nav.pager a.next >> nth=0");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("offset=100"));
        Assert.True(await page.Locator("article.msg").CountAsync() > 0);

        // A subagent's transcript.
        await page.GotoAsync($"/console/projects/{BigProject}/sessions/{BigSession}");
        await page.ClickAsync("#subagents a >> nth=0");
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync("Subagent agent-");
        Assert.True(await page.Locator("article.msg").CountAsync() > 0, "the subagent's messages show");

        // Fork at the third message the model sees, with a title: the browser lands on the fork.
        await page.GotoAsync($"/console/projects/{BigProject}/sessions/{BigSession}?view=model");
        var third = page.Locator("article.msg:not(.system)").Nth(2);
        var cut = (await third.GetAttributeAsync("id"))!["m-".Length..];
        await third.Locator("a.fork").ClickAsync();
        await page.FillAsync("input[name=title]", "console fork");
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("done=forked"));
        var forkId = await page.Locator("#session-id").TextContentAsync();
        Assert.NotEqual(BigSession, forkId);
        await Assertions.Expect(page.Locator("#forked-from")).ToHaveTextAsync(BigSession);
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync("console fork");
        await Assertions.Expect(page.Locator("ul.lineage")).ToContainTextAsync(BigSession);
        var forkMessages = await server.CreateClient().GetMessagesAsync(BigProject, forkId!, null, null, CancellationToken.None);
        Assert.Equal(3, forkMessages.Count);
        Assert.NotNull(cut);

        // How the fork differs from its parent: what it copied, up to where, and that the parent went on without it.
        await Assertions.Expect(page.Locator("#fork-diff")).ToContainTextAsync("copied from the parent");
        await Assertions.Expect(page.Locator("#fork-diff")).ToContainTextAsync("none of its own yet");
        await Assertions.Expect(page.Locator("#fork-cut")).ToHaveAttributeAsync("href", new Regex("at=" + Regex.Escape(cut) + "#m-"));
        await Assertions.Expect(page.Locator("#fork-parent-after")).ToContainTextAsync("more messages");
        await Assertions.Expect(page.Locator("article.msg.copied a.from-parent").First).ToBeVisibleAsync();
        // A message of its own: the page marks where the fork leaves its parent.
        var own = Guid.NewGuid().ToString();
        await server.CreateClient().AppendLinesAsync(BigProject, forkId!, null,
            [$$$"""{"type":"user","uuid":"{{{own}}}","parentUuid":null,"sessionId":"{{{forkId}}}","timestamp":"2026-12-01T10:00:00.000Z","message":{"role":"user","content":"only the fork asked this"}}"""],
            null, CancellationToken.None);
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#fork-own")).ToHaveTextAsync("1 of its own");
        await page.ClickAsync("#fork-own");
        await Assertions.Expect(page.Locator($"#fork-point + article[id='m-{own}']")).ToBeVisibleAsync();
        await ChromiumBrowser.AssertAccessibleAsync(page, "a fork");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("fork.png") });

        // Rename and tag the fork; the project's tag filter finds it.
        await page.FillAsync("form input[name=title]", "Renamed in the console");
        await page.ClickAsync("form:has(input[name=title]) button");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("done=renamed"));
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Renamed in the console");
        await page.FillAsync("form input[name=tag]", "reviewed");
        await page.ClickAsync("form:has(input[name=tag]) button");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("done=tagged"));
        await Assertions.Expect(page.Locator("#tag")).ToHaveTextAsync("reviewed");
        await page.GotoAsync($"/console/projects/{BigProject}?tag=reviewed");
        await Assertions.Expect(page.Locator("table.sessions tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("table.sessions")).ToContainTextAsync("Renamed in the console");

        // Delete the fork, after the confirmation; it is gone for the API too.
        await page.GotoAsync($"/console/projects/{BigProject}/sessions/{forkId}");
        await page.ClickAsync("a.button.danger");
        await page.ClickAsync("form button.danger");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/console/projects/{BigProject}$"));
        using var gone = await server.Http.GetAsync($"v1/projects/{BigProject}/sessions/{forkId}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    // The number of messages the pager says the view has ("Messages 1–100 of N").
    private static async Task<int> TotalAsync(IPage page)
    {
        var text = await page.Locator("nav.pager .muted").First.TextContentAsync() ?? "";
        return int.Parse(Regex.Match(text, @"of (\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    // When Chromium first painted the page's content (ms from navigation start), as the browser measures it.
    private static async Task<double> FirstPaintAsync(IPage page)
    {
        // The entry is recorded a frame after the paint: wait for it (a page that never paints times out).
        await page.WaitForFunctionAsync("() => performance.getEntriesByName('first-contentful-paint').length > 0");
        return await page.EvaluateAsync<double>("() => performance.getEntriesByName('first-contentful-paint')[0].startTime");
    }

    [Fact]
    public async Task HostileTranscript_RendersAsText_AndRunsNothing()
    {
        const string project = "hostile-project";
        var sessionId = Guid.NewGuid().ToString();
        var client = server.CreateClient();
        await client.AppendLinesAsync(project, sessionId, null, HostileTranscript.Lines(sessionId), null, CancellationToken.None);
        await client.RenameAsync(project, sessionId, "<img src=x onerror=\"window.__pwned='title'\">", CancellationToken.None);
        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        var dialogs = 0;
        page.Dialog += (_, d) =>
        {
            dialogs++;
            _ = d.DismissAsync();
        };
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);

        var response = await page.GotoAsync($"/console/projects/{project}/sessions/{sessionId}");
        Assert.Equal(200, response!.Status);
        Assert.Equal(Server.Console.ConsoleRegistration.ContentSecurityPolicy, await response.HeaderValueAsync("content-security-policy"));

        // Open everything collapsed, so any payload inside would be in the live DOM.
        foreach (var summary in await page.Locator("details > summary").AllAsync())
        {
            await summary.ClickAsync();
        }

        await page.HoverAsync("details.tool summary");
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        Assert.Equal(0, dialogs);
        // The one script is the console's own, from the server; nothing inline.
        Assert.Equal(["/console/console.js"], await page.EvaluateAsync<string[]>("() => [...document.scripts].map(s => s.getAttribute('src') ?? '(inline)')"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover],iframe,svg,object,embed').length"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => [...document.querySelectorAll('a[href], img[src]')].filter(e => /^\\s*javascript:/i.test(e.getAttribute('href') ?? e.getAttribute('src'))).length"));
        Assert.Equal(0, await page.Locator("img[src^='data:image/svg']").CountAsync());
        // The payloads are on the page as text.
        await Assertions.Expect(page.Locator("article.msg.user").First).ToContainTextAsync(HostileTranscript.ScriptText);
        await Assertions.Expect(page.Locator("h1")).ToContainTextAsync("onerror=");
        await Assertions.Expect(page.Locator("details.tool").First).ToContainTextAsync("window.__pwned='result'");
        await Assertions.Expect(page.Locator("pre.diff span.del")).ToContainTextAsync("<script>window.__pwned='old'</script>");
        await Assertions.Expect(page.Locator("pre.diff span.add")).ToContainTextAsync("onerror=");
        await Assertions.Expect(page.Locator("pre.cmd")).ToContainTextAsync("</span><script>");
        await Assertions.Expect(page.Locator("pre.todos span.done")).ToContainTextAsync("<svg onload=");
        // Markdown that cannot or may not render is the message's text, with the reason beside it.
        await Assertions.Expect(page.Locator("pre.plain", new() { HasText = HostileTranscript.DeepQuotes })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator(".render-note", new() { HasText = "nested too deeply" })).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator(".render-note", new() { HasText = "too much formatting" })).ToHaveCountAsync(1);
        // Nothing but the server itself was asked for anything.
        Assert.All(requests, url => Assert.StartsWith(server.BaseUrl.ToString(), url, StringComparison.Ordinal));
        await ChromiumBrowser.AssertAccessibleAsync(page, "a hostile transcript");

        // Searched for, every payload goes through the hit list's snippets and the highlights (in text, Markdown, tool
        // inputs and results): still text, still nothing runs.
        foreach (var query in new[] { "window.__pwned", "<script>", "onerror=" })
        {
            await page.GotoAsync($"/console/projects/{project}/sessions/{sessionId}?q={Uri.EscapeDataString(query)}");
            await Assertions.Expect(page.Locator("#hits ol.transcript-hits li").First).ToContainTextAsync(query);
            await Assertions.Expect(page.Locator("article.msg.hit mark").First).ToHaveTextAsync(query);
            await page.EvaluateAsync("() => document.querySelectorAll('details').forEach(d => d.open = true)");
            Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
            Assert.Equal(["/console/console.js"], await page.EvaluateAsync<string[]>("() => [...document.scripts].map(s => s.getAttribute('src') ?? '(inline)')"));
            Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover],iframe,svg,object,embed').length"));
            Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('mark *').length"));
        }

        Assert.Equal(0, dialogs);
        Directory.CreateDirectory(ScreenshotDir);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("hostile.png") });
    }

    [Fact]
    public async Task ApiReference_FromTheConsolesHeader_RendersTheOperations_AskingOnlyTheServer()
    {
        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        var problems = ChromiumBrowser.Errors(page);
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);

        await page.GotoAsync("/");
        await page.ClickAsync("header.top a[href='/api/']");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/api/$"));
        // Scalar renders the document's operations and their problem codes from /openapi/v1.json.
        await Assertions.Expect(page.GetByText("/v1/admin/reindex").First).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText("summary_version_conflict").First).ToBeVisibleAsync();
        Assert.Contains(requests, url => url.EndsWith("/openapi/v1.json", StringComparison.Ordinal));
        Assert.All(requests, url => Assert.True(url.StartsWith(server.BaseUrl.ToString(), StringComparison.Ordinal) || url.StartsWith("data:", StringComparison.Ordinal), url));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task SubagentTranscript_OpensFromTheToolCallThatStartedIt()
    {
        const string project = "subagent-link";
        var sessionId = Guid.NewGuid().ToString();
        var client = server.CreateClient();
        string Line(string uuid, string? parent, string type, string content, string extra = "") =>
            $$$"""{"type":"{{{type}}}","uuid":"{{{uuid}}}","parentUuid":{{{(parent is null ? "null" : $"\"{parent}\"")}}},"sessionId":"{{{sessionId}}}","isSidechain":false,"timestamp":"2026-11-28T10:00:00.000Z",{{{extra}}}"message":{"role":"{{{type}}}","content":{{{content}}}}}""";
        await client.AppendLinesAsync(project, sessionId, null,
        [
            Line("11111111-0000-0000-0000-000000000001", null, "user", "\"look around\""),
            Line("11111111-0000-0000-0000-000000000002", "11111111-0000-0000-0000-000000000001", "assistant", """[{"type":"tool_use","id":"toolu_task","name":"Task","input":{"prompt":"explore the repo"}}]"""),
            Line("11111111-0000-0000-0000-000000000003", "11111111-0000-0000-0000-000000000002", "user", """[{"type":"tool_result","tool_use_id":"toolu_task","content":"report"}]""", "\"toolUseResult\":{\"agentId\":\"abc123\",\"status\":\"completed\"},"),
        ], null, CancellationToken.None);
        await client.AppendLinesAsync(project, sessionId, "subagents/agent-abc123",
            [$$$"""{"type":"user","uuid":"22222222-0000-0000-0000-000000000001","parentUuid":null,"sessionId":"{{{sessionId}}}","isSidechain":true,"agentId":"abc123","message":{"role":"user","content":"explore the repo, as the subagent"}}"""],
            null, CancellationToken.None);

        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync($"/console/projects/{project}/sessions/{sessionId}");
        await page.ClickAsync("a.subagent-link");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/subagents/abc123$"));
        await Assertions.Expect(page.Locator("article.msg").First).ToContainTextAsync("explore the repo, as the subagent");
    }

    [Fact]
    public async Task ConsoleRoutes_LeaveTheApiAndItsProblemsUnchanged()
    {
        using var unknown = await server.Http.GetAsync("no/such/route");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        using var projects = await server.Http.GetAsync("v1/projects");
        Assert.Equal("application/json", projects.Content.Headers.ContentType?.MediaType);
        Assert.False(projects.Headers.Contains("Content-Security-Policy"));
        using var root = await server.Http.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        Assert.Equal("text/html", root.Content.Headers.ContentType?.MediaType);
        Assert.True(root.Headers.Contains("Content-Security-Policy"));
        using var missing = await server.Http.GetAsync("console/projects/none/sessions/00000000-0000-0000-0000-000000000000");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("was not found", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
