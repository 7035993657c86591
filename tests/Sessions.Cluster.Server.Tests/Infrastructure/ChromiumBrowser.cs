using Microsoft.Playwright;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// Debian's headless Chromium (<c>/usr/bin/chromium</c>, package <c>chromium</c>, installed by <c>.ci/run</c>) driven by
/// Microsoft.Playwright's bundled driver; nothing is downloaded. A missing browser fails the tests that need it with
/// how to install it.
/// </summary>
public sealed class ChromiumBrowser : IAsyncLifetime
{
    /// <summary>Where Debian puts the browser (override with <c>CHROMIUM_PATH</c>).</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private IPlaywright? _playwright;

    /// <summary>The running browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium is missing at {ExecutablePath}: install it with 'apt-get install -y chromium' (.ci/run does), or set CHROMIUM_PATH.");
        }

        _playwright = await Playwright.CreateAsync();
        Assertions.SetDefaultExpectTimeout(ActionTimeoutMs / 2);
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // Root in a container has no user namespaces for Chromium's sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>How long a page action, navigation or web-first assertion may wait (Playwright's defaults are 30 s and
    /// 5 s): a full suite on two cores can hold a page's answer for seconds.</summary>
    /// <remarks>Tests wait for a URL with <c>Expect(page).ToHaveURLAsync</c>, not <c>WaitForURLAsync</c>: the latter then
    /// waits for the load event, and Playwright 1.x's .NET client misses it now and then (a 90 s wait timed out in 1 of
    /// 9 runs of the console tests alone, with its log saying the later "networkidle" had fired).</remarks>
    public const float ActionTimeoutMs = 60_000;

    /// <summary>A fresh browser context (its own cookies) on <paramref name="baseUrl"/>, 1280×900, in the machine's time
    /// zone or <paramref name="timezoneId"/> (an IANA name, e.g. <c>Asia/Tokyo</c>).</summary>
    public async Task<IBrowserContext> NewContextAsync(Uri baseUrl, string? timezoneId = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseUrl.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 }, TimezoneId = timezoneId,
        });
        context.SetDefaultTimeout(ActionTimeoutMs);
        context.SetDefaultNavigationTimeout(ActionTimeoutMs);
        return context;
    }

    /// <summary>
    /// The page's script errors and every error it logs to its console from now on (a refused script or style under
    /// the CSP, a failed load), with where each came from.
    /// </summary>
    public static List<string> Errors(IPage page)
    {
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add($"{m.Text} ({m.Location})");
            }
        };
        return errors;
    }

    /// <summary>
    /// Fails with every accessibility violation axe-core (the tests' pinned copy, tests/servers) finds on the page as it
    /// is now. axe is evaluated through the DevTools protocol, which the page's CSP does not govern; the page's own
    /// script policy is unchanged.
    /// </summary>
    public static async Task AssertAccessibleAsync(IPage page, string what)
    {
        await NodeTools.EnsureInstalledAsync(RepoPaths.ServersDir, "node_modules/axe-core/axe.min.js");
        await page.EvaluateAsync(await File.ReadAllTextAsync(Path.Combine(RepoPaths.ServersDir, "node_modules", "axe-core", "axe.min.js")));
        var violations = await page.EvaluateAsync<string[]>(
            "async () => (await axe.run(document, { resultTypes: ['violations'] })).violations.map(v => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 4).map(n => n.target.join(' ')).join(' | ')}`)");
        Xunit.Assert.True(violations.Length == 0, $"axe-core found {violations.Length} violation(s) on {what}:\n" + string.Join("\n", violations));
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
