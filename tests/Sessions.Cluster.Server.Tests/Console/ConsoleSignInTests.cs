using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Sessions.Cluster.Core;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// A web console sign-in ends on the server: signing out stops every copy of the cookie, and a sign-in runs out after
/// <c>Sessions:Auth:ConsoleSignInLifetime</c> however the browser keeps the cookie. Real Chromium, a keyed server whose
/// clock a test can move forward.
/// </summary>
[Trait("Category", "Browser")]
public sealed class ConsoleSignInTests(ConsoleSignInTests.MovableClockServer server, ChromiumBrowser chromium)
    : IClassFixture<ConsoleSignInTests.MovableClockServer>, IClassFixture<ChromiumBrowser>
{
    [Fact]
    [Trait("Category", "Console")]
    public async Task SigningOut_EndsEveryCopyOfTheCookie_AndASignInRunsOutAfterItsLifetime()
    {
        var key = await Keys.IssueAsync(server.BaseUrl, "signin-" + Guid.NewGuid().ToString("N")[..8], "read");
        await using var browser = await chromium.NewContextAsync(server.BaseUrl);
        var page = await SignedInAsync(browser, key);
        var cookie = (await browser.CookiesAsync()).Single(c => c.Name == "sessions_console");

        // A copy of the cookie (another browser, a stolen header) works while the sign-in lasts.
        await using var copy = await chromium.NewContextAsync(server.BaseUrl);
        await copy.AddCookiesAsync([new Cookie { Name = cookie.Name, Value = cookie.Value, Domain = cookie.Domain, Path = cookie.Path }]);
        var copied = await copy.NewPageAsync();
        Assert.Equal(200, (await copied.GotoAsync("/"))!.Status);
        Assert.EndsWith("/", copied.Url, StringComparison.Ordinal);

        await page.GotoAsync("/console/signout");
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/console/signin"));
        await copied.GotoAsync("/");
        await Assertions.Expect(copied).ToHaveURLAsync(new Regex("/console/signin"));

        // A new sign-in lasts 12 hours (the default), not a minute more, even though the browser keeps sending it.
        var again = await SignedInAsync(browser, key);
        server.Clock.Offset = TimeSpan.FromHours(11);
        Assert.Equal(200, (await again.GotoAsync("/"))!.Status);
        Assert.EndsWith("/", again.Url, StringComparison.Ordinal);
        server.Clock.Offset = TimeSpan.FromHours(12).Add(TimeSpan.FromMinutes(1));
        await again.GotoAsync("/");
        await Assertions.Expect(again).ToHaveURLAsync(new Regex("/console/signin"));
        server.Clock.Offset = TimeSpan.Zero;
    }

    private static async Task<IPage> SignedInAsync(IBrowserContext browser, string key)
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync("/console/signin");
        await page.FillAsync("input[name=key]", key);
        await page.ClickAsync("form button.primary");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/$"));
        return page;
    }

    /// <summary>A keyed server whose store clock runs <see cref="OffsetClock.Offset"/> ahead of the real one.</summary>
    public sealed class MovableClockServer : ServerFixture
    {
        public OffsetClock Clock { get; } = new();

        protected override IEnumerable<string> ExtraArguments => ["--Sessions:Auth:OperatorKey", Keys.Operator];

        protected override void Configure(WebApplicationBuilder builder) =>
            builder.Services.AddSingleton(new StoreClock(Clock));
    }

    /// <summary>The system clock plus an offset (its timers are the system's).</summary>
    public sealed class OffsetClock : TimeProvider
    {
        public TimeSpan Offset { get; set; }

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    }
}
