using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sessions.Cluster.Client;
using Xunit;
using Xunit.Abstractions;

namespace Sessions.Cluster.AppHost.Tests;

/// <summary>
/// The app host starts a local cluster without a container engine — Azurite and PostgreSQL as processes, three silos as
/// projects — through Aspire's own orchestrator, driven by Aspire.Hosting.Testing: an append through one silo is read
/// through another.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class AppHostTests(ITestOutputHelper output)
{
    [Fact]
    public async Task TheAppHost_StartsThreeSilos_AndWhatOneAppendsAnotherReads()
    {
        var clock = Stopwatch.StartNew();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Sessions_Cluster_AppHost>();
        // The resources' own output (Azurite's request log, the silos') stays out of the test's.
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        await using var app = await builder.BuildAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await app.StartAsync(timeout.Token);
        foreach (var silo in new[] { "silo-1", "silo-2", "silo-3" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(silo, timeout.Token);
        }

        output.WriteLine($"three silos ready in {clock.Elapsed.TotalSeconds:0.0} s");
        using var one = new SessionsClient(app.CreateHttpClient("silo-1"), new SessionsClientOptions { Url = app.GetEndpoint("silo-1", "http") });
        using var two = new SessionsClient(app.CreateHttpClient("silo-2"), new SessionsClientOptions { Url = app.GetEndpoint("silo-2", "http") });
        var sessionId = Guid.NewGuid().ToString();
        var entry = $$$"""{"type":"user","uuid":"{{{Guid.NewGuid()}}}","parentUuid":null,"sessionId":"{{{sessionId}}}","timestamp":"2026-12-07T10:00:00.000Z","message":{"role":"user","content":"hello from silo 1"}}""";
        await one.AppendLinesAsync("apphost", sessionId, null, [entry], null, timeout.Token);

        var transcript = await two.GetTranscriptAsync("apphost", sessionId, null, timeout.Token);
        Assert.Equal(entry + "\n", System.Text.Encoding.UTF8.GetString(transcript!));
        Assert.Contains((await two.ListAsync("apphost", 10, null, null, null, timeout.Token)).Sessions, s => s.SessionId == sessionId);
    }
}
