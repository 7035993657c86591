using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Retention racing appends, on both deployments (on the cluster, requests go to every node in turn): sessions 40 days
/// old (imported with their last activity) are swept again and again while writers append to their main and subagent
/// transcripts. Every acknowledged entry must be readable afterwards, and every session must be either listed (with a
/// transcript) or in the trash (without one visible): no transcript without its catalog row, no row without its
/// transcript. The stateless design lost data here (subagent entries written after a claim, rows of raced sessions).
/// </summary>
public abstract class RetentionRaceTests<TServer>(TServer server) where TServer : ITestServer
{
    private const string Project = "race";
    private const int Sessions = 300;
    private const int Rounds = 2400;

    [Fact]
    public async Task SweepsRacingAppendsToMainAndSubagentTranscripts_LoseNothing_AndKeepRowsAndTranscriptsTogether()
    {
        var tenant = "race-" + Guid.NewGuid().ToString("N")[..8];
        var ids = Enumerable.Range(0, Sessions).Select(i => $"s{i:D3}").ToList();
        var old = DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (id, _) =>
        {
            await ExpectAsync(tenant, HttpMethod.Post, $"v1/projects/{Project}/sessions/{id}/entries?lastActivity={old}", $"[{Calls.Entry($"{id}-0")}]", HttpStatusCode.OK);
            await ExpectAsync(tenant, HttpMethod.Post, $"v1/projects/{Project}/sessions/{id}/entries?subpath=subagents/agent-a&lastActivity={old}", $"[{Calls.Entry($"{id}-a0")}]", HttpStatusCode.OK);
        });

        using var done = new CancellationTokenSource();
        var sweeps = 0;
        var sweeper = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                await ExpectAsync(tenant, HttpMethod.Post, "v1/admin/retention/sweep", null, HttpStatusCode.OK);
                Interlocked.Increment(ref sweeps);
            }
        });

        // Writers pick sessions at random (so some are written before their expiry, some after it, some never).
        var acknowledged = new ConcurrentBag<(string Id, string? Subpath, string Uuid)>();
        var random = new Random(7);
        var plan = Enumerable.Range(0, Rounds).Select(r => (Id: ids[random.Next(Sessions / 2)], Subpath: r % 2 == 0 ? null : "subagents/agent-a", Uuid: $"r{r}")).ToList();
        await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (round, _) =>
        {
            var query = round.Subpath is null ? "" : $"?subpath={round.Subpath}";
            await ExpectAsync(tenant, HttpMethod.Post, $"v1/projects/{Project}/sessions/{round.Id}/entries{query}", $"[{Calls.Entry(round.Uuid)}]", HttpStatusCode.OK);
            acknowledged.Add(round);
        });
        await done.CancelAsync();
        await sweeper;
        await ExpectAsync(tenant, HttpMethod.Post, "v1/admin/retention/sweep", null, HttpStatusCode.OK);
        Assert.True(sweeps > 0, "no sweep ran during the writes");
        // The race happened: some written sessions had gone to the trash and were brought back by the write (80–90 of
        // 150 in runs on this machine).
        var audit = (JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/admin/retention/audit?limit=100000")).Body!;
        Assert.Contains(audit, a => a!["reason"]!.GetValue<string>() == "restore");

        // Every acknowledged entry is there, in a session that is live.
        foreach (var group in acknowledged.GroupBy(a => (a.Id, a.Subpath)))
        {
            var query = group.Key.Subpath is null ? "" : $"?subpath={group.Key.Subpath}";
            var (status, body) = await SendAsync(tenant, HttpMethod.Get, $"v1/projects/{Project}/sessions/{group.Key.Id}/entries{query}");
            Assert.True(status == HttpStatusCode.OK, $"{group.Key}: {(int)status}");
            var uuids = ((JsonArray)body!).Select(e => e!["uuid"]!.GetValue<string>()).ToHashSet();
            Assert.All(group, a => Assert.Contains(a.Uuid, uuids));
        }

        // Each session is listed with a readable transcript, or in the trash with nothing readable: never half of each.
        var listed = ((JsonArray)(await SendAsync(tenant, HttpMethod.Get, $"v1/projects/{Project}/store/sessions")).Body!).Select(s => s!["sessionId"]!.GetValue<string>()).ToHashSet();
        var trashed = ((JsonArray)(await SendAsync(tenant, HttpMethod.Get, "v1/trash?limit=10000")).Body!["sessions"]!).Select(s => s!["sessionId"]!.GetValue<string>()).ToHashSet();
        Assert.Empty(listed.Intersect(trashed));
        Assert.Equal(ids.Order(), listed.Union(trashed).Order());
        Assert.Empty(acknowledged.Select(a => a.Id).Intersect(trashed));
        Assert.Equal(ids.Skip(Sessions / 2).Order(), trashed.Order());
        foreach (var id in ids)
        {
            var status = (await SendAsync(tenant, HttpMethod.Get, $"v1/projects/{Project}/sessions/{id}/entries")).Status;
            Assert.True(status == (listed.Contains(id) ? HttpStatusCode.OK : HttpStatusCode.NotFound), $"{id}: {(int)status}, listed {listed.Contains(id)}");
        }
    }

    private async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(string tenant, HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Add("X-Sessions-Tenant", tenant);
        if (body is not null)
        {
            request.Content = Calls.Json(body);
        }

        using var response = await server.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    private async Task ExpectAsync(string tenant, HttpMethod method, string url, string? body, HttpStatusCode expected)
    {
        var (status, answer) = await SendAsync(tenant, method, url, body);
        Assert.True(status == expected, $"{method} {url}: {(int)status} {answer?.ToJsonString()}");
    }
}

/// <summary>The race on the embedded server.</summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedRetentionRaceTests(ServerFixture server) : RetentionRaceTests<ServerFixture>(server), IClassFixture<ServerFixture>;

/// <summary>The race on three cluster nodes over Azurite and PostgreSQL.</summary>
[Trait("Category", "Cluster")]
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterRetentionRaceTests(ClusterFixture server) : RetentionRaceTests<ClusterFixture>(server);
