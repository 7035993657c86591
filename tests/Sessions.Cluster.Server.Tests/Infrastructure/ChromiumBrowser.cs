using Microsoft.Playwright;

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
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // Root in a container has no user namespaces for Chromium's sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh browser context (its own cookies) on <paramref name="baseUrl"/>, 1280×900.</summary>
    public Task<IBrowserContext> NewContextAsync(Uri baseUrl) =>
        Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
