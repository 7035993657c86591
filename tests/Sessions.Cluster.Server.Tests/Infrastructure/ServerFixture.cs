using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Client;

using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>A real Sessions.Cluster server (Kestrel on a free loopback port) over a fresh data folder, per test class.</summary>
public class ServerFixture : ITestServer, IAsyncDisposable
{
    private WebApplication? _app;

    public string DataDir { get; } = RepoPaths.TempDir("server");

    public Uri BaseUrl { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _app = SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Sessions:DataDir", DataDir, "--Logging:LogLevel:Default", "Warning", .. ExtraArguments], Configure);
        await _app.StartAsync().ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        Http = new HttpClient { BaseAddress = BaseUrl };
    }

    /// <summary>More command-line arguments for the server.</summary>
    protected virtual IEnumerable<string> ExtraArguments => [];

    /// <summary>The running application (its services, for tests that look inside).</summary>
    public WebApplication App => _app!;

    /// <summary>Hook to change services before the server is built.</summary>
    protected virtual void Configure(WebApplicationBuilder builder)
    {
    }

    public SessionsClient CreateClient(string? tenant = null) => new(new SessionsClientOptions { Url = BaseUrl, Tenant = tenant });

    /// <summary>Runs the <c>sessions</c> CLI against this server; returns (exit code, stdout, stderr).</summary>
    public async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Sessions.Cluster.Cli.SessionsCli.RunAsync([.. args, "--url", BaseUrl.ToString()], output, error).ConfigureAwait(false);
        return (code, output.ToString(), error.ToString());
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();
}
