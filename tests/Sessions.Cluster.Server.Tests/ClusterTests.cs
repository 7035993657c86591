using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>Three stateless nodes over one Azurite and one PostgreSQL: concurrency, crashes and storage outages.</summary>
public sealed class ClusterTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task NulInEverythingTheCatalogStores_NeverAnswers500_AndTheSessionStaysListed()
    {
        // PostgreSQL text cannot hold NUL: before, the blob was written, then the row failed (500), and the session
        // vanished from info and listings while later appends answered 500 and were written anyway.
        var pk = "nul-" + Guid.NewGuid().ToString("N")[..8];
        var http = cluster.Http;
        var first = """{"type":"user","uuid":"n1","sessionId":"s","timestamp":"2026-01-01T00:00:00Z","cwd":"/a\u0000b","gitBranch":"m\u0000","message":{"role":"user","content":"prompt \u0000 with NUL"}}""";
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries", $"[{first}]")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/rename", "{\"title\":\"t\\u0000itle\"}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/tag", "{\"tag\":\"x\\u0000\"}")).Status);
        using (var put = new HttpRequestMessage(HttpMethod.Put, $"v1/projects/{pk}/sessions/s/summary") { Content = Calls.Json("{\"mtime\":1,\"data\":{\"customTitle\":\"a\\u0000b\"}}") })
        {
            put.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
            using var answer = await http.SendAsync(put);
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries", $"[{Calls.Entry("n2")}]")).Status);
        var (status, info) = await Calls.SendAsync(cluster.ClientFor(1), HttpMethod.Get, $"v1/projects/{pk}/sessions/s");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("t\uFFFDitle", info!["customTitle"]!.GetValue<string>());
        Assert.Equal("x", info["tag"]!.GetValue<string>()); // the SDK's tagSession drops control characters
        var (_, listed) = await Calls.SendAsync(cluster.ClientFor(2), HttpMethod.Get, $"v1/projects/{pk}/sessions?tag=x");
        Assert.Single((JsonArray)listed!["sessions"]!);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(http, HttpMethod.Get, $"v1/projects/{pk}/sessions?tag=%00")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(http, HttpMethod.Get, $"v1/projects/{pk}/sessions?q=%00")).Status);
        var (_, summaries) = await Calls.SendAsync(http, HttpMethod.Get, $"v1/projects/{pk}/store/summaries");
        Assert.Equal("a\u0000b", summaries![0]!["data"]!["customTitle"]!.GetValue<string>());
        var (_, entries) = await Calls.SendAsync(http, HttpMethod.Get, $"v1/projects/{pk}/sessions/s/entries");
        Assert.Equal(4, ((JsonArray)entries!).Count);
        Assert.Equal("prompt \u0000 with NUL", entries![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task SixteenWritersOverThreeNodes_TenThousandEntries_NothingLostOrDuplicated_EachWritersOrderKept()
    {
        const int writers = 16, perWriter = 625, batch = 25;
        var pk = "load-" + Guid.NewGuid().ToString("N")[..8];
        var shared = "shared";
        var writes = Enumerable.Range(0, writers).Select(async w =>
        {
            using var http = cluster.ClientFor(w % cluster.NodeCount);
            var session = w % 2 == 0 ? shared : $"own-{w}";
            for (var b = 0; b < perWriter / batch; b++)
            {
                var body = "[" + string.Join(',', Enumerable.Range(0, batch).Select(i => Calls.Entry($"w{w:D2}-{(b * batch) + i:D4}"))) + "]";
                using var response = await http.PostAsync($"v1/projects/{pk}/sessions/{session}/entries", Calls.Json(body));
                Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            }
        });
        await Task.WhenAll(writes);

        var all = new List<string>();
        foreach (var session in new[] { shared }.Concat(Enumerable.Range(0, writers).Where(w => w % 2 == 1).Select(w => $"own-{w}")))
        {
            var uuids = await ReadUuidsAsync(cluster.ClientFor(2), pk, session);
            all.AddRange(uuids);
            foreach (var writer in uuids.Select(u => u[..3]).Distinct())
            {
                var mine = uuids.Where(u => u.StartsWith(writer, StringComparison.Ordinal)).ToList();
                Assert.Equal(mine.Order(StringComparer.Ordinal), mine);
            }
        }

        Assert.Equal(writers * perWriter, all.Count);
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public async Task ConflictingFencedAppends_OnDifferentNodes_ExactlyOneWins_OthersGet409()
    {
        var pk = "cas-" + Guid.NewGuid().ToString("N")[..8];
        using var first = cluster.ClientFor(0);
        using var created = await first.PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json($"[{Calls.Entry("base")}]"));
        var length = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["length"]!.GetValue<long>();
        var attempts = Enumerable.Range(0, 6).Select(async i =>
        {
            using var http = cluster.ClientFor(i % cluster.NodeCount);
            using var response = await http.PostAsync($"v1/projects/{pk}/sessions/s/entries?expectedLength={length}", Calls.Json($"[{Calls.Entry($"racer-{i}")}]"));
            return response.StatusCode;
        });
        var statuses = await Task.WhenAll(attempts);
        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(2, (await ReadUuidsAsync(cluster.ClientFor(1), pk, "s")).Count);
    }

    [Fact]
    public async Task NodeKilledWithSigkillDuringAppends_Repeated20Times_EveryAcknowledgedEntryReadableFromAnotherNode()
    {
        var pk = "crash-" + Guid.NewGuid().ToString("N")[..8];
        var acknowledged = new List<string>();
        for (var round = 0; round < 20; round++)
        {
            var victim = cluster.Nodes[round % cluster.NodeCount];
            using var http = new HttpClient { BaseAddress = victim.Url, Timeout = TimeSpan.FromSeconds(10) };
            var writer = Task.Run(async () =>
            {
                for (var b = 0; ; b++)
                {
                    var uuids = Enumerable.Range(0, 20).Select(i => $"r{round:D2}-{b:D4}-{i:D2}").ToList();
                    try
                    {
                        using var response = await http.PostAsync($"v1/projects/{pk}/sessions/s{round % 4}/entries", Calls.Json("[" + string.Join(',', uuids.Select(u => Calls.Entry(u, text: new string('z', 2000)))) + "]"));
                        if (!response.IsSuccessStatusCode)
                        {
                            return;
                        }

                        lock (acknowledged)
                        {
                            acknowledged.AddRange(uuids);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        return;
                    }
                    catch (TaskCanceledException)
                    {
                        return;
                    }
                }
            });
            await Task.Delay(150 + (round * 7 % 100));
            await victim.KillAsync();
            await writer;
            await victim.StartAsync();
        }

        using var reader = cluster.ClientFor(0);
        var stored = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < 4; s++)
        {
            foreach (var uuid in await ReadUuidsAsync(reader, pk, $"s{s}"))
            {
                Assert.True(stored.Add(uuid), $"{uuid} is stored twice");
            }
        }

        Assert.NotEmpty(acknowledged);
        Assert.All(acknowledged, u => Assert.Contains(u, stored));
    }

    [Fact]
    public async Task AzuriteDownForTenSeconds_RequestsGet503WithRetryAfter_ThenServiceResumesWithoutRestart()
    {
        var pk = "outage-" + Guid.NewGuid().ToString("N")[..8];
        using var http = cluster.ClientFor(1);
        using (var before = await http.PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json($"[{Calls.Entry("before")}]")))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        await cluster.Azurite.StopAsync();
        try
        {
            var stopped = DateTime.UtcNow;
            var answers = 0;
            while (DateTime.UtcNow - stopped < TimeSpan.FromSeconds(10))
            {
                using var response = await http.PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json($"[{Calls.Entry("during-" + answers)}]"));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Equal("storage_unavailable", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
                using var load = await http.GetAsync($"v1/projects/{pk}/sessions/s/entries");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, load.StatusCode);
                using var ready = await http.GetAsync("health/ready");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                using var live = await http.GetAsync("health/live");
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
                answers++;
                await Task.Delay(500);
            }

            Assert.True(answers >= 5);
        }
        finally
        {
            await cluster.Azurite.StartAsync();
        }

        using (var ready = await http.GetAsync("health/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        using (var after = await http.PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json($"[{Calls.Entry("after")}]")))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        Assert.Equal(["before", "after"], await ReadUuidsAsync(cluster.ClientFor(0), pk, "s"));
    }

    private static async Task<List<string>> ReadUuidsAsync(HttpClient http, string pk, string session)
    {
        using var response = await http.GetAsync($"v1/projects/{pk}/sessions/{session}/transcript");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the transcript ends inside a line");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!["uuid"]!.GetValue<string>()).ToList();
    }
}
