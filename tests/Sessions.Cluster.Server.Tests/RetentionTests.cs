using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Core;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Retention on three cluster nodes (silos of one cluster) sharing one fake store clock (in-process nodes, so the
/// clock can be shared; the silos' own timers keep real time). Thousands of sessions; no sleeps: the clock is advanced
/// and sweeps are asked of the tenant's retention grain from every node at once (what its reminder does each period).
/// </summary>
[Trait("Category", "Cluster")]
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
            // A sweep through every session grain of a tenant may take minutes on a busy machine; sweeps queue at the grain.
            _clients.Add(new HttpClient { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromMinutes(5) });
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

        // A minute before the first writes expire: a sweep finds nothing due, nothing is gone.
        _clock.Advance(TimeSpan.FromDays(10) - TimeSpan.FromMinutes(1));
        Assert.Empty((JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/preview?limit=5000")).Body!["sessions"]!);
        Assert.Equal(0, (await SweepEverywhereAsync(tenant)).Sum(r => r["expired"]!.GetValue<int>()));
        Assert.Equal(expired.Count, await CountInfoAsync(tenant, expired, HttpStatusCode.OK));

        // Past expiry: three sweeps at once (one per node, as duplicated ticks would be) move exactly the expired sessions
        // to the trash between them, each once.
        _clock.Advance(TimeSpan.FromMinutes(2));
        var reports = await SweepEverywhereAsync(tenant);
        Assert.Equal(expired.Count, reports.Sum(r => r["expired"]!.GetValue<int>()));
        Assert.Equal(0, reports.Sum(r => r["purged"]!.GetValue<int>()));
        Assert.Empty((JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/preview?limit=5000")).Body!["sessions"]!);
        Assert.Equal(expired.Count, await CountInfoAsync(tenant, expired, HttpStatusCode.NotFound));
        Assert.Equal(expired.Count, await CountTranscriptsAsync(tenant, expired, HttpStatusCode.NotFound));
        var trash = (JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/trash?limit=5000")).Body!["sessions"]!;
        Assert.Equal(expired.Order(), trash.Select(t => t!["sessionId"]!.GetValue<string>()).Order());
        var survivors = held.Concat(tagged).Concat(rewritten).Concat(fresh).Append(forkId).ToList();
        Assert.Equal(survivors.Count, await CountTranscriptsAsync(tenant, survivors, HttpStatusCode.OK));
        Assert.Equal(100, await CountTranscriptsAsync(patient, Enumerable.Range(0, 100).Select(i => $"long-{i:D3}").ToList(), HttpStatusCode.OK));

        // One is restored; after the grace period (7 days) the rest are purged, once.
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync(tenant, HttpMethod.Post, $"v1/trash/proj/{expired[0]}/restore")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(tenant, HttpMethod.Get, $"v1/projects/proj/sessions/{expired[0]}/entries")).Status);
        _clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        reports = await SweepEverywhereAsync(tenant);
        var purged = reports.Sum(r => r["purged"]!.GetValue<int>());
        Assert.True(purged == expired.Count - 1, $"purged {purged} of {expired.Count - 1}: {string.Join(", ", reports.Select(r => r.ToJsonString()))}; audit {(await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/audit?limit=10000")).Body!.AsArray().GroupBy(a => a!["reason"]!.GetValue<string>()).Select(g => $"{g.Key} {g.Count()}").Aggregate((x, y) => x + ", " + y)}");
        Assert.Empty((JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/trash")).Body!["sessions"]!);
        Assert.Equal(expired.Count - 1, await CountTranscriptsAsync(tenant, expired.Skip(1).ToList(), HttpStatusCode.NotFound));

        var (_, audit) = await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/audit?limit=10000");
        var records = ((JsonArray)audit!).Select(a => (Id: a!["sessionId"]!.GetValue<string>(), Reason: a["reason"]!.GetValue<string>())).ToList();
        Assert.Equal(expired.Order(), records.Where(r => r.Reason == "retention").Select(r => r.Id).Order());
        Assert.Equal([expired[0]], records.Where(r => r.Reason == "restore").Select(r => r.Id));
        Assert.Equal(expired.Skip(1).Order(), records.Where(r => r.Reason == "purge").Select(r => r.Id).Order());
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

    // One sweep asked through each node at once: the tenant's retention grain runs them one after another.
    private async Task<JsonNode[]> SweepEverywhereAsync(string tenant) =>
        await Task.WhenAll(_clients.Select(async client =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/admin/retention/sweep");
            request.Headers.Add("X-Sessions-Tenant", tenant);
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            return JsonNode.Parse(text)!;
        }));
}
