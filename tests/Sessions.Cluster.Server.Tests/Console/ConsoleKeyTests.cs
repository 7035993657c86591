using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// The web console on a server that requires API keys, in real headless Chromium: sign-in with a key, a read-only key
/// sees no write control and a forged write (valid anti-forgery token, read-only key) is refused, a write key's forms
/// work, a post without the anti-forgery token is refused, revoking the key signs the browser out.
/// </summary>
[Trait("Category", "Browser")]
public sealed class ConsoleKeyTests(KeyedServerFixture server, ChromiumBrowser chromium) : IClassFixture<KeyedServerFixture>, IClassFixture<ChromiumBrowser>
{
    private const string Project = ConsoleBrowserTests.BigProject;
    private const string Session = ConsoleBrowserTests.BigSession;

    [Fact]
    public async Task ReadOnlyKey_SeesNoWriteControls_AndAForgedWriteIsRefused()
    {
        var tenant = "console-" + Guid.NewGuid().ToString("N")[..8];
        var writer = await Keys.IssueAsync(server.BaseUrl, tenant, "read", "write");
        var reader = await Keys.IssueAsync(server.BaseUrl, tenant, "read");
        var (code, _, err) = await server.CliAsync("import", RepoPaths.CopyFixtures(), "--api-key", writer);
        Assert.True(code == 0, err);

        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        var sessionPath = $"/console/projects/{Project}/sessions/{Session}";

        // Not signed in: sent to the sign-in form, and back after it.
        await page.GotoAsync(sessionPath);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/signin"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ConsoleBrowserTests.Shot("signin.png") });
        await page.FillAsync("input[name=key]", "sk-not-a-key");
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("not valid");
        await page.FillAsync("input[name=key]", reader);
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(Session + "$"));
        await Assertions.Expect(page.Locator("#session-id")).ToHaveTextAsync(Session);

        // Read-only: no rename, tag, fork or delete control anywhere.
        Assert.Equal(0, await page.Locator("form[method=post]").CountAsync());
        Assert.Equal(0, await page.Locator("a.fork, a.button.danger").CountAsync());
        Assert.Contains("read", await page.Locator("header .who").TextContentAsync(), StringComparison.Ordinal);

        // A forged rename or fork with a valid anti-forgery token (from the sign-out form) is refused by the server: the
        // forms do not exist for a read-only key, so there is nothing to dispatch the post to (400), and nothing changes.
        await page.GotoAsync("/console/signout");
        var token = await page.Locator("input[name=__RequestVerificationToken]").GetAttributeAsync("value");
        var forged = await context.APIRequest.PostAsync(sessionPath, new APIRequestContextOptions
        {
            Form = context.APIRequest.CreateFormData().Set("_handler", "rename").Set("title", "forged").Set("__RequestVerificationToken", token!),
        });
        Assert.Equal(400, forged.Status);
        var forgedFork = await context.APIRequest.PostAsync($"/console/projects/{Project}/sessions/{Session}/fork", new APIRequestContextOptions
        {
            Form = context.APIRequest.CreateFormData().Set("_handler", "fork").Set("__RequestVerificationToken", token!),
        });
        Assert.Equal(400, forgedFork.Status);
        using var api = Keys.Client(server.BaseUrl, writer);
        var info = await api.GetStringAsync($"v1/projects/{Project}/sessions/{Session}");
        Assert.DoesNotContain("forged", info, StringComparison.Ordinal);
        var listed = await api.GetStringAsync($"v1/projects/{Project}/sessions");
        Assert.Single(Regex.Matches(listed, "\"sessionId\""));

        // Without the token, even a write key's post is refused (anti-forgery).
        var withoutToken = await context.APIRequest.PostAsync(sessionPath, new APIRequestContextOptions
        {
            Form = context.APIRequest.CreateFormData().Set("_handler", "rename").Set("title", "no token"),
        });
        Assert.Equal(400, withoutToken.Status);
    }

    [Fact]
    public async Task WriteKey_RenamesThroughTheForm_AndRevokingItSignsTheBrowserOut()
    {
        var tenant = "console-" + Guid.NewGuid().ToString("N")[..8];
        var writer = await Keys.IssueAsync(server.BaseUrl, tenant, "read", "write");
        using var api = Keys.Client(server.BaseUrl, writer);
        var sessionId = Guid.NewGuid().ToString();
        using (var appended = await api.PostAsync($"v1/projects/p/sessions/{sessionId}/entries", Calls.Json(
            $$$"""[{"type":"user","uuid":"{{{Guid.NewGuid()}}}","parentUuid":null,"sessionId":"{{{sessionId}}}","timestamp":"2026-11-28T10:00:00.000Z","message":{"role":"user","content":"hello console"}}]""")))
        {
            Assert.True(appended.IsSuccessStatusCode);
        }

        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await SignInAsync(page, writer, "/$");
        await page.GotoAsync($"/console/projects/p/sessions/{sessionId}");
        await page.FillAsync("form input[name=title]", "named by a write key");
        await page.ClickAsync("form:has(input[name=title]) button");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("named by a write key");
        Assert.Contains("named by a write key", await api.GetStringAsync($"v1/projects/p/sessions/{sessionId}"), StringComparison.Ordinal);

        // Revoked: the next page asks for a key again.
        Assert.True(Core.Tenants.ApiKeys.TryParse(writer, out var keyId, out _));
        using (var op = Keys.Client(server.BaseUrl, Keys.Operator))
        using (var revoked = await op.DeleteAsync($"v1/tenants/{tenant}/keys/{keyId}"))
        {
            Assert.True(revoked.IsSuccessStatusCode, await revoked.Content.ReadAsStringAsync());
        }

        await page.GotoAsync($"/console/projects/p/sessions/{sessionId}");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/signin"));
    }

    [Fact]
    public async Task Operator_CreatesATenantAndIssuesAKeyShownOnce_TheTenantAdminSetsRetention()
    {
        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await SignInAsync(page, Keys.Operator, "/console/operator$");

        var tenant = "ops-" + Guid.NewGuid().ToString("N")[..8];
        await page.FillAsync("input[name=tenant]", tenant);
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/console/operator/tenants/{tenant}$"));
        await page.FillAsync("input[name=label]", "console-admin");
        await page.CheckAsync("input[name=scopes][value=write]");
        await page.CheckAsync("input[name=scopes][value=admin]");
        await page.ClickAsync("form:has(input[name=label]) button.primary");
        var key = await page.Locator("#issued-key").InputValueAsync();
        Assert.True(Core.Tenants.ApiKeys.TryParse(key, out var keyId, out _), key);
        await Assertions.Expect(page.Locator("#keys")).ToContainTextAsync(keyId);
        await Assertions.Expect(page.Locator("#keys")).ToContainTextAsync("read, write, admin");
        // Shown once: the page reloaded shows the key's id, never the key.
        await page.ReloadAsync();
        Assert.Equal(0, await page.Locator("#issued-key").CountAsync());
        Assert.DoesNotContain(key, await page.ContentAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ConsoleBrowserTests.Shot("operator-tenant.png") });

        // The tenant's admin signs in with the new key and sets the retention policy.
        await using var adminContext = await chromium.NewContextAsync(server.BaseUrl);
        var admin = await adminContext.NewPageAsync();
        await admin.GotoAsync("/console/admin");
        await admin.FillAsync("input[name=key]", key);
        await admin.ClickAsync("form button.primary");
        await Assertions.Expect(admin).ToHaveURLAsync(new Regex("/console/admin$"));
        await admin.FillAsync("input[name=days]", "abc");
        await admin.ClickAsync("form:has(input[name=days]) button");
        await Assertions.Expect(admin.Locator(".error")).ToContainTextAsync("not a number");
        await admin.FillAsync("input[name=days]", "7");
        await admin.ClickAsync("form:has(input[name=days]) button");
        await Assertions.Expect(admin).ToHaveURLAsync(new Regex("done=policy"));
        await Assertions.Expect(admin.Locator("#retention-days")).ToHaveTextAsync("7");
        using (var api = Keys.Client(server.BaseUrl, key))
        {
            Assert.Contains("\"cleanupPeriodDays\":7", await api.GetStringAsync("v1/admin/retention"), StringComparison.Ordinal);
        }

        await admin.ScreenshotAsync(new PageScreenshotOptions { Path = ConsoleBrowserTests.Shot("admin.png"), FullPage = true });

        // The operator revokes it: the admin's next page asks for a key again.
        await page.ClickAsync($"#keys button[value='{keyId}']");
        await Assertions.Expect(page.Locator("#keys")).ToContainTextAsync("revoked");
        await admin.GotoAsync("/console/admin");
        await Assertions.Expect(admin).ToHaveURLAsync(new Regex("/console/signin"));
    }

    [Fact]
    public async Task AnotherTenantsKey_InTheConsole_FindsNothingOfTheFirst()
    {
        var marker = "SECRET-" + Guid.NewGuid().ToString("N");
        var keyA = await Keys.IssueAsync(server.BaseUrl, "ca" + Guid.NewGuid().ToString("N")[..8], "read", "write");
        var keyB = await Keys.IssueAsync(server.BaseUrl, "cb" + Guid.NewGuid().ToString("N")[..8], "read", "write", "admin");
        using var a = Keys.Client(server.BaseUrl, keyA);
        var sessionId = Guid.NewGuid().ToString();
        using (var appended = await a.PostAsync($"v1/projects/pa/sessions/{sessionId}/entries", Calls.Json($"[{Calls.Entry(Guid.NewGuid().ToString(), text: marker)}]")))
        {
            Assert.True(appended.IsSuccessStatusCode);
        }

        // A's own content search finds its words (indexed behind the append), so B finding none below means something.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!(await a.GetStringAsync($"v1/search?q={marker}")).Contains(sessionId, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "tenant A's content search never found its own words");
            await Task.Delay(50);
        }

        await using var context = await chromium.NewContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await SignInAsync(page, keyB, "/$");
        foreach (var path in new[] { "/", "/console/projects/pa", $"/console/projects/pa/sessions/{sessionId}", $"/console/projects/pa/sessions/{sessionId}/subagents/x", "/console/admin" })
        {
            var response = await page.GotoAsync(path);
            Assert.True(response!.Status is 200 or 404, $"{path}: {response.Status}");
            Assert.DoesNotContain(marker, await page.ContentAsync(), StringComparison.Ordinal);
        }

        // Searching for A's text or id finds nothing (the page repeats only what B typed).
        foreach (var query in new[] { marker, sessionId[..8] })
        {
            await page.GotoAsync($"/console/search?q={query}");
            Assert.Equal(0, await page.Locator("table.sessions tbody tr").CountAsync());
            Assert.Equal(0, await page.Locator("ol.hits li").CountAsync());
        }

        await page.GotoAsync("/console/projects/pa");
        Assert.Equal(0, await page.Locator("table.sessions tbody tr").CountAsync());
        var answer = await page.GotoAsync($"/console/projects/pa/sessions/{sessionId}");
        Assert.Equal(404, answer!.Status);
        await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("was not found");
        var download = await context.APIRequest.GetAsync($"/console/projects/pa/sessions/{sessionId}/download");
        Assert.Equal(404, download.Status);
    }

    // Signs the page's browser context in with a key through the form, and waits to land on the expected page.
    private static async Task SignInAsync(IPage page, string key, string landsOn)
    {
        await page.GotoAsync("/console/signin");
        await page.FillAsync("input[name=key]", key);
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(landsOn));
    }
}
