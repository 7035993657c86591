using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Retention on three cluster nodes (silos of one cluster) sharing one fake store clock (in-process nodes, so the
/// clock can be shared; the silos' own timers keep real time). Thousands of sessions; no sleeps: the clock is advanced and the nodes'
/// sweepers fire on it.
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private readonly FakeTimeProvider _clock = new(T0);
    private readonly List<WebApplication> _nodes = [];
    private readonly List<HttpClient> _clients = [];
    private AzuriteServer _azurite = null!;
    private PostgresServer _postgres = null!;
    private int _next;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteServer.StartNewAsync();
        _postgres = await PostgresServer.StartNewAsync();
        var database = await _postgres.CreateDatabaseAsync("retention");
        for (var i = 0; i < 3; i++)
        {
            var app = SessionsServer.Build(
                ["--urls", "http://127.0.0.1:0", "--Sessions:Mode", "cluster", "--Sessions:Blob:ConnectionString", _azurite.ConnectionString,
                 "--Sessions:Postgres:ConnectionString", database, "--Logging:LogLevel:Default", "Warning",
                 "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), "--Sessions:Orleans:GatewayPort", "0",
                 "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1", "--Sessions:Orleans:ClusterId", "retention"],
                b => b.Services.AddSingleton(new StoreClock(_clock)));
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            _nodes.Add(app);
            _clients.Add(new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromSeconds(60) });
        }
    }

    [Fact]
    public async Task Sweep_ThousandsOfSessionsOnThreeNodes_DeletesExactlyTheExpired_EachAuditedOnce_HoldsAndFreshWritesAndForksSurvive()
    {
        const string tenant = "acme", patient = "patient";
        var old = Enumerable.Range(0, 1500).Select(i => $"old-{i:D4}").ToList();
        await ForEachAsync(old, id => AppendAsync(tenant, "proj", id, $"{id}-1"));
        await ForEachAsync(Enumerable.Range(0, 100).Select(i => $"long-{i:D3}").ToList(), id => AppendAsync(patient, "proj", id, $"{id}-1"));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(patient, HttpMethod.Put, "v1/admin/retention", "{\"cleanupPeriodDays\":60}")).Status);

        var held = old.Take(50).ToList();
        var tagged = old.Skip(50).Take(50).ToList();
        var rewritten = old.Skip(100).Take(50).ToList();
        await ForEachAsync(held, id => ExpectAsync(tenant, HttpMethod.Put, $"v1/projects/proj/sessions/{id}/hold", "{\"reason\":\"litigation\"}", HttpStatusCode.NoContent));
        await ForEachAsync(tagged, id => ExpectAsync(tenant, HttpMethod.Post, $"v1/projects/proj/sessions/{id}/tag", "{\"tag\":\"legal-hold\"}", HttpStatusCode.NoContent));

        // Twenty days later: some old sessions are written again, new ones appear, and one old session is forked.
        _clock.Advance(TimeSpan.FromDays(20));
        await ForEachAsync(rewritten, id => AppendAsync(tenant, "proj", id, $"{id}-2"));
        var fresh = Enumerable.Range(0, 300).Select(i => $"new-{i:D3}").ToList();
        await ForEachAsync(fresh, id => AppendAsync(tenant, "proj", id, $"{id}-1"));
        var parent = old[^1];
        var (_, fork) = await SendAsync(tenant, HttpMethod.Post, $"v1/projects/proj/sessions/{parent}/fork", "{}");
        var forkId = fork!["sessionId"]!.GetValue<string>();

        var expired = old.Except(held).Except(tagged).Except(rewritten).ToList();

        // A minute before the first writes expire (the sweepers have ticked all along): nothing is due, nothing is gone.
        _clock.Advance(TimeSpan.FromDays(10) - TimeSpan.FromMinutes(1));
        await WaitUntilAsync(async () => ((JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/preview?limit=5000")).Body!["sessions"]!).Count == 0);
        Assert.Equal(expired.Count, await CountInfoAsync(tenant, expired, HttpStatusCode.OK));

        // Past expiry and past the next sweep tick: the sweepers on the three nodes delete exactly the expired sessions.
        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(2));
        await WaitUntilAsync(async () => ((JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/preview?limit=5000")).Body!["sessions"]!).Count == 0
            && (await CountInfoAsync(tenant, expired, HttpStatusCode.NotFound)) == expired.Count);

        Assert.Equal(expired.Count, await CountInfoAsync(tenant, expired, HttpStatusCode.NotFound));
        Assert.Equal(expired.Count, await CountTranscriptsAsync(tenant, expired, HttpStatusCode.NotFound));
        var survivors = held.Concat(tagged).Concat(rewritten).Concat(fresh).Append(forkId).ToList();
        Assert.Equal(survivors.Count, await CountTranscriptsAsync(tenant, survivors, HttpStatusCode.OK));
        Assert.Equal(100, await CountTranscriptsAsync(patient, Enumerable.Range(0, 100).Select(i => $"long-{i:D3}").ToList(), HttpStatusCode.OK));

        var (_, audit) = await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/audit?limit=10000");
        var records = ((JsonArray)audit!).Select(a => a!["sessionId"]!.GetValue<string>()).ToList();
        Assert.Equal(expired.Order(), records.Order());
        Assert.Empty((JsonArray)(await SendAsync(patient, HttpMethod.Get, "v1/admin/retention/audit")).Body!);
    }

    [Fact]
    public async Task Policy_OutOfRange_Is400_AndHoldOnUnknownSessionIs404()
    {
        var (status, body) = await SendAsync("t", HttpMethod.Put, "v1/admin/retention", "{\"cleanupPeriodDays\":0}");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_cleanup_period", body!["code"]!.GetValue<string>());
        var (_, policy) = await SendAsync("t", HttpMethod.Get, "v1/admin/retention");
        Assert.Equal(30, policy!["cleanupPeriodDays"]!.GetValue<int>());
        Assert.True(policy["isDefault"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync("t", HttpMethod.Put, "v1/projects/p/sessions/nope/hold", "{}")).Status);
    }

    public async Task DisposeAsync()
    {
        foreach (var c in _clients)
        {
            c.Dispose();
        }

        foreach (var app in _nodes)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await _azurite.DisposeAsync();
        await _postgres.DisposeAsync();
    }

    private HttpClient NextClient() => _clients[(int)((uint)Interlocked.Increment(ref _next) % _clients.Count)];

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(string tenant, HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("X-Sessions-Tenant", tenant);
        if (body is not null)
        {
            request.Content = Calls.Json(body);
        }

        using var response = await NextClient().SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private async Task ExpectAsync(string tenant, HttpMethod method, string url, string? body, HttpStatusCode expected)
    {
        var (status, answer) = await SendAsync(tenant, method, url, body);
        Assert.True(status == expected, $"{method} {url}: {(int)status} {answer?.ToJsonString()}");
    }

    private Task AppendAsync(string tenant, string pk, string sessionId, string uuid) =>
        ExpectAsync(tenant, HttpMethod.Post, $"v1/projects/{pk}/sessions/{sessionId}/entries", $"[{Calls.Entry(uuid, text: $"prompt of {sessionId}")}]", HttpStatusCode.OK);

    private async Task<int> CountInfoAsync(string tenant, List<string> ids, HttpStatusCode status)
    {
        var count = 0;
        await ForEachAsync(ids, async id =>
        {
            if ((await SendAsync(tenant, HttpMethod.Get, $"v1/projects/proj/sessions/{id}")).Status == status)
            {
                Interlocked.Increment(ref count);
            }
        });
        return count;
    }

    private async Task<int> CountTranscriptsAsync(string tenant, List<string> ids, HttpStatusCode status)
    {
        var count = 0;
        await ForEachAsync(ids, async id =>
        {
            if ((await SendAsync(tenant, HttpMethod.Get, $"v1/projects/proj/sessions/{id}/entries")).Status == status)
            {
                Interlocked.Increment(ref count);
            }
        });
        return count;
    }

    private static Task ForEachAsync(List<string> items, Func<string, Task> action) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = 24 }, async (item, _) => await action(item));

    // Waits for the sweepers (started by the clock) to finish; a real-time deadline, never a fixed sleep.
    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the sweepers did not finish within 3 minutes");
            await Task.Delay(200);
        }
    }
}
