using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Sessions.Cluster.Server.Tests;

/// <summary>Three silo processes over one Azurite and one PostgreSQL: concurrency, silo crashes and storage outages.</summary>
[Trait("Category", "Cluster")]
[Collection(ProcessKillsCollection.Name)]
public sealed class ClusterTests(ClusterFixture cluster, ITestOutputHelper output) : IClassFixture<ClusterFixture>
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
    public async Task SiloKilledWithSigkillMidAppend_20Times_NothingAcknowledgedLost_RetriesNeverWriteTwice_NoPartialLine_No500_SessionsAnswerAgainThroughOtherSilos()
    {
        var pk = "crash-" + Guid.NewGuid().ToString("N")[..8];
        const int sessions = 8;
        var acknowledged = new List<string>();
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var retriedAndFound = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, cluster.NodeCount).Select(cluster.ClientFor).ToArray();
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var b = 0; !stop.IsCancellationRequested; b++)
            {
                // Every third batch holds no uuid at all: only its Idempotency-Key, recorded before its bytes are written,
                // keeps a retry that reaches another silo from writing it twice. The others end with a uuid-less line.
                var plain = b % 3 == 0;
                var markers = Enumerable.Range(0, plain ? 2 : 10).Select(i => $"w{w:D2}-{b:D5}-{i}").ToList();
                var body = "[" + string.Join(',', markers.Select((m, i) => plain || i == markers.Count - 1 ? Untracked(m) : Tracked(m))) + "]";
                var key = Guid.NewGuid().ToString();
                // Paced, so the two cores here run three silos, Azurite and PostgreSQL without starving the probes.
                await Task.Delay(25);
                // A call whose answer is lost (its node or its grain's silo killed) is retried with the same key through
                // the next node, as the SDK's adapter retries, until it is answered.
                for (var attempt = 0; attempt < 200; attempt++)
                {
                    try
                    {
                        var http = clients[(w + attempt) % cluster.NodeCount];
                        using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/projects/{pk}/sessions/s{w % sessions}/entries") { Content = Calls.Json(body) };
                        request.Headers.Add("Idempotency-Key", key);
                        using var response = await http.SendAsync(request);
                        statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                        if (response.IsSuccessStatusCode)
                        {
                            if (attempt > 0 && JsonNode.Parse(await response.Content.ReadAsStringAsync())!["appended"]!.GetValue<int>() == 0)
                            {
                                retriedAndFound.AddOrUpdate(plain ? "without uuids" : "with uuids", 1, (_, n) => n + 1);
                            }

                            lock (acknowledged)
                            {
                                acknowledged.AddRange(markers);
                            }

                            break;
                        }

                        if ((int)response.StatusCode is >= 400 and < 500)
                        {
                            break;
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // The node serving this request died: not acknowledged.
                    }
                    catch (TaskCanceledException)
                    {
                    }

                    await Task.Delay(200);
                }
            }
        })).ToList();

        var recoveries = new List<double>();
        for (var round = 0; round < 20; round++)
        {
            var victim = cluster.Nodes[round % cluster.NodeCount];
            await Task.Delay(400 + (round * 37 % 200));
            await victim.KillAsync();
            var killed = System.Diagnostics.Stopwatch.StartNew();
            using (var survivor = cluster.ClientFor((round + 1) % cluster.NodeCount))
            {
                // Every session (some of whose grains lived on the victim) answers again through a surviving silo:
                // each is probed on its own, and the round's time is the slowest session's.
                var answered = await Task.WhenAll(Enumerable.Range(0, sessions).Select(async s =>
                {
                    var last = "";
                    while (killed.Elapsed < TimeSpan.FromSeconds(60))
                    {
                        using var probe = await survivor.GetAsync($"v1/projects/{pk}/sessions/s{s}?probe={round}");
                        Assert.NotEqual(HttpStatusCode.InternalServerError, probe.StatusCode);
                        if (probe.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound)
                        {
                            return (Seconds: killed.Elapsed.TotalSeconds, Last: "");
                        }

                        last = $"{(int)probe.StatusCode} {await probe.Content.ReadAsStringAsync()}";
                        await Task.Delay(100);
                    }

                    return (Seconds: double.PositiveInfinity, Last: last);
                }));
                if (answered.Any(a => !double.IsFinite(a.Seconds)))
                {
                    output.WriteLine(string.Join('\n', answered.Select(a => a.Last)));
                    foreach (var node in cluster.Nodes)
                    {
                        output.WriteLine($"== node {node.Port} running={node.IsRunning}\n" + string.Join('\n', node.Log.Split('\n').Where(l => !l.Contains("ServerGC", StringComparison.Ordinal)).TakeLast(60)));
                    }
                }

                Assert.All(answered, a => Assert.True(double.IsFinite(a.Seconds), "a session did not answer within 60 s: " + a.Last));
                recoveries.Add(answered.Max(a => a.Seconds));
            }

            output.WriteLine($"round {round + 1}: node {round % cluster.NodeCount} killed; every session answered through another silo after {recoveries[^1]:0.00} s");
            await victim.StartAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Array.ForEach(clients, c => c.Dispose());
        output.WriteLine($"recovery: median {recoveries.Order().ElementAt(recoveries.Count / 2):0.00} s, max {recoveries.Max():0.00} s (goal ≤ 3 s); answers: {string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"))}");

        output.WriteLine($"retries answered as already written (their first call's answer was lost): {string.Join(", ", retriedAndFound.Select(kv => $"{kv.Value} {kv.Key}"))}");
        Assert.False(statuses.ContainsKey(500), $"{statuses.GetValueOrDefault(500)} answers were 500");
        var stored = new HashSet<string>(StringComparer.Ordinal);
        for (var s = 0; s < sessions; s++)
        {
            foreach (var marker in await ReadMarkersAsync(cluster.ClientFor(0), pk, $"s{s}"))
            {
                Assert.True(stored.Add(marker), $"{marker} is stored twice");
            }
        }

        Assert.NotEmpty(acknowledged);
        Assert.All(acknowledged, u => Assert.Contains(u, stored));
    }

    [Fact]
    public async Task AppendsCutMidFlight_RetriedThroughAnotherNode_EveryListedSizeAndLastActivityIsTheTranscripts()
    {
        // Before the grain, a retry deduplicated on another node left that session's row with its old size and time.
        var pk = "cut-" + Guid.NewGuid().ToString("N")[..8];
        const int sessions = 10;
        var lastAnswer = new Dictionary<string, (long Length, long Mtime)>();
        var random = new Random(7);
        for (var round = 0; round < 100; round++)
        {
            var session = $"s{round % sessions}";
            var body = "[" + string.Join(',', Enumerable.Range(0, 3).Select(i => Calls.Entry($"r{round:D3}-{i}", text: new string('c', 3000)))) + "]";
            var key = Guid.NewGuid().ToString();
            using (var cut = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(1, 40))))
            using (var first = cluster.ClientFor(round % cluster.NodeCount))
            using (var request = new HttpRequestMessage(HttpMethod.Post, $"v1/projects/{pk}/sessions/{session}/entries") { Content = Calls.Json(body) })
            {
                request.Headers.Add("Idempotency-Key", key);
                try
                {
                    using var ignored = await first.SendAsync(request, cut.Token);
                }
                catch (OperationCanceledException)
                {
                    // The connection was cut mid-append: the client never heard back.
                }
            }

            using var retry = cluster.ClientFor((round + 1) % cluster.NodeCount);
            using var again = new HttpRequestMessage(HttpMethod.Post, $"v1/projects/{pk}/sessions/{session}/entries") { Content = Calls.Json(body) };
            again.Headers.Add("Idempotency-Key", key);
            using var answer = await retry.SendAsync(again);
            var text = await answer.Content.ReadAsStringAsync();
            Assert.True(answer.IsSuccessStatusCode, text);
            var result = JsonNode.Parse(text)!;
            lastAnswer[session] = (result["length"]!.GetValue<long>(), result["mtime"]!.GetValue<long>());
        }

        for (var s = 0; s < sessions; s++)
        {
            var session = $"s{s}";
            using var raw = await cluster.ClientFor(0).GetAsync($"v1/projects/{pk}/sessions/{session}/transcript");
            var transcriptLength = (await raw.Content.ReadAsByteArrayAsync()).LongLength;
            Assert.Equal(lastAnswer[session].Length, transcriptLength);
            Assert.Equal(30, (await ReadUuidsAsync(cluster.ClientFor(1), pk, session)).Count);
            for (var node = 0; node < cluster.NodeCount; node++)
            {
                var (status, info) = await Calls.SendAsync(cluster.ClientFor(node), HttpMethod.Get, $"v1/projects/{pk}/sessions/{session}");
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal(transcriptLength, info!["fileSize"]!.GetValue<long>());
                Assert.Equal(lastAnswer[session].Mtime, info["lastModified"]!.GetValue<long>());
            }
        }

        var (_, listing) = await Calls.SendAsync(cluster.ClientFor(2), HttpMethod.Get, $"v1/projects/{pk}/sessions");
        var listed = ((JsonArray)listing!["sessions"]!).Select(n => n!).ToDictionary(n => n["sessionId"]!.GetValue<string>());
        Assert.Equal(sessions, listed.Count);
        foreach (var (session, (length, mtime)) in lastAnswer)
        {
            Assert.Equal(length, listed[session]["fileSize"]!.GetValue<long>());
            Assert.Equal(mtime, listed[session]["lastModified"]!.GetValue<long>());
        }
    }

    [Fact]
    public async Task ATwentyMegabyteTranscript_WrittenThroughOneSilo_LoadsWholeThroughTheOthers()
    {
        // Loads stream from storage at the length the grain fixes: no multi-megabyte grain message, nothing left hanging.
        var pk = "big-" + Guid.NewGuid().ToString("N")[..8];
        var text = new string('t', 100_000);
        for (var batch = 0; batch < 21; batch++)
        {
            var body = "[" + string.Join(',', Enumerable.Range(0, 10).Select(i => Calls.Entry($"b{batch:D2}-{i}", text: text))) + "]";
            using var response = await cluster.ClientFor(0).PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json(body));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        using var first = await cluster.ClientFor(1).GetAsync($"v1/projects/{pk}/sessions/s/transcript");
        var transcript = await first.Content.ReadAsByteArrayAsync();
        Assert.True(transcript.Length > 20_000_000, $"{transcript.Length} bytes");
        using var second = await cluster.ClientFor(2).GetAsync($"v1/projects/{pk}/sessions/s/entries");
        var entries = JsonNode.Parse(await second.Content.ReadAsStringAsync())!.AsArray();
        Assert.Equal(210, entries.Count);
        Assert.Equal("b20-9", entries[^1]!["uuid"]!.GetValue<string>());
        var (status, messages) = await Calls.SendAsync(cluster.ClientFor(1), HttpMethod.Get, $"v1/projects/{pk}/sessions/s/messages?limit=1");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(messages!.AsArray());
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

    [Fact]
    public async Task PostgresDownForTenSeconds_No500_NothingAcknowledgedLost_RowsCatchUpWithoutRestart()
    {
        var pk = "pg-outage-" + Guid.NewGuid().ToString("N")[..8];
        using var http = cluster.ClientFor(2);
        using (var before = await http.PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json($"[{Calls.Entry("before")}]")))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var acknowledged = new List<string> { "before" };
        var seen = new Dictionary<HttpStatusCode, int>();
        await cluster.Postgres.StopAsync();
        try
        {
            var stopped = DateTime.UtcNow;
            for (var i = 0; DateTime.UtcNow - stopped < TimeSpan.FromSeconds(10); i++)
            {
                // The transcript is the source of truth: an append may be acknowledged while the catalog is down.
                using var response = await http.PostAsync($"v1/projects/{pk}/sessions/s/entries", Calls.Json($"[{Calls.Entry("during-" + i)}]"));
                seen[response.StatusCode] = seen.GetValueOrDefault(response.StatusCode) + 1;
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    acknowledged.Add("during-" + i);
                }
                else
                {
                    Assert.NotNull(response.Headers.RetryAfter);
                }

                using var listing = await http.GetAsync($"v1/projects/{pk}/sessions");
                seen[listing.StatusCode] = seen.GetValueOrDefault(listing.StatusCode) + 1;
                Assert.True(listing.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)listing.StatusCode}: {await listing.Content.ReadAsStringAsync()}");
                Assert.NotNull(listing.Headers.RetryAfter);
                await Task.Delay(500);
            }
        }
        finally
        {
            await cluster.Postgres.ResumeAsync();
        }

        output.WriteLine($"answers while PostgreSQL was down: {string.Join(", ", seen.Select(kv => $"{(int)kv.Key}×{kv.Value}"))}");
        // Back without restarting anything: a client retrying on 503 (as Retry-After asks) gets through within seconds.
        var resumed = System.Diagnostics.Stopwatch.StartNew();
        var key = Guid.NewGuid().ToString();
        while (true)
        {
            using var after = new HttpRequestMessage(HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries") { Content = Calls.Json($"[{Calls.Entry("after")}]") };
            after.Headers.Add("Idempotency-Key", key);
            using var response = await http.SendAsync(after);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            Assert.True(resumed.Elapsed < TimeSpan.FromSeconds(10), "still 503 ten seconds after PostgreSQL came back");
            await Task.Delay(200);
        }

        output.WriteLine($"first append acknowledged {resumed.Elapsed.TotalSeconds:0.00} s after PostgreSQL was back");
        acknowledged.Add("after");
        var stored = await ReadUuidsAsync(cluster.ClientFor(0), pk, "s");
        Assert.All(acknowledged, u => Assert.Contains(u, stored));
        using var raw = await cluster.ClientFor(1).GetAsync($"v1/projects/{pk}/sessions/s/transcript");
        var length = (await raw.Content.ReadAsByteArrayAsync()).LongLength;
        var (status, info) = await Calls.SendAsync(cluster.ClientFor(1), HttpMethod.Get, $"v1/projects/{pk}/sessions/s");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(length, info!["fileSize"]!.GetValue<long>());
    }

    // An entry found by its uuid, and one with none (as Claude Code writes queue operations): each carries a marker.
    private static string Tracked(string marker) =>
        new JsonObject { ["type"] = "user", ["uuid"] = marker, ["marker"] = marker, ["message"] = new JsonObject { ["role"] = "user", ["content"] = new string('z', 500) } }.ToJsonString();

    private static string Untracked(string marker) =>
        new JsonObject { ["type"] = "queue-operation", ["operation"] = "enqueue", ["marker"] = marker, ["content"] = new string('q', 200) }.ToJsonString();

    private static Task<List<string>> ReadUuidsAsync(HttpClient http, string pk, string session) => ReadFieldAsync(http, pk, session, "uuid");

    private static Task<List<string>> ReadMarkersAsync(HttpClient http, string pk, string session) => ReadFieldAsync(http, pk, session, "marker");

    // One string field of every line of a session's transcript, in order (none when the session does not exist).
    private static async Task<List<string>> ReadFieldAsync(HttpClient http, string pk, string session, string field)
    {
        using var response = await http.GetAsync($"v1/projects/{pk}/sessions/{session}/transcript");
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "the transcript ends inside a line");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)![field]!.GetValue<string>()).ToList();
    }

    [Fact]
    public async Task TheSessionList_OnAnyNode_ShowsTheTotalsOfAppendsMadeThroughOthers()
    {
        var project = "usage-" + Guid.NewGuid().ToString("N")[..8];
        var sessionId = Guid.NewGuid().ToString();
        static string Assistant(string uuid, string messageId, int output) =>
            $$$"""{"type":"assistant","uuid":"{{{uuid}}}","message":{"id":"{{{messageId}}}","model":"claude-opus-4-6","role":"assistant","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":2,"output_tokens":{{{output}}},"cache_read_input_tokens":1000,"cache_creation_input_tokens":30}""" + "}}";
        // One API message written as two entries through two nodes (the second carries its final usage), then another.
        foreach (var (node, line) in new[] { (0, Calls.Entry("u1", text: "go")), (0, Assistant("a1", "msg_1", 5)), (1, Assistant("a2", "msg_1", 40)), (1, Assistant("a3", "msg_2", 7)) })
        {
            using var http = cluster.ClientFor(node);
            using var appended = await http.PostAsync($"v1/projects/{project}/sessions/{sessionId}/entries", Calls.Json($"[{line}]"));
            Assert.True(appended.IsSuccessStatusCode, await appended.Content.ReadAsStringAsync());
        }

        using var reader = cluster.ClientFor(2);
        var page = WebUtility.HtmlDecode(await reader.GetStringAsync($"console/projects/{project}"));
        Assert.Contains("title=\"2 API messages; prompt tokens 4 input, 2,000 cache read, 60 cache write; output 47\">claude-opus-4-6", page, StringComparison.Ordinal);
        Assert.Contains("2.06K prompt · 47 out", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsoleForm_RenderedByOneNode_IsAcceptedByAnother_OneKeyRingInBlobStorage()
    {
        var sessionId = Guid.NewGuid().ToString();
        using (var appended = await cluster.Http.PostAsync($"v1/projects/console/sessions/{sessionId}/entries", Calls.Json($"[{Calls.Entry(Guid.NewGuid().ToString(), text: "hello")}]")))
        {
            Assert.True(appended.IsSuccessStatusCode, await appended.Content.ReadAsStringAsync());
        }

        // One browser (one cookie jar: cookies ignore the port) whose page comes from node 0 and whose form post reaches node 1.
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var path = $"console/projects/console/sessions/{sessionId}";
        var page = await browser.GetStringAsync(new Uri(cluster.Nodes[0].Url, path));
        var token = System.Text.RegularExpressions.Regex.Match(page, "name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(token);
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["_handler"] = "rename", ["title"] = "renamed across nodes", ["__RequestVerificationToken"] = token });
        using var posted = await browser.PostAsync(new Uri(cluster.Nodes[1].Url, path), form);
        Assert.True(posted.StatusCode == HttpStatusCode.Redirect, $"{(int)posted.StatusCode}: {await posted.Content.ReadAsStringAsync()}");
        using var node2 = cluster.ClientFor(2);
        Assert.Contains("renamed across nodes", await node2.GetStringAsync($"v1/projects/console/sessions/{sessionId}"), StringComparison.Ordinal);
        output.WriteLine($"rename posted to node 1 with node 0's anti-forgery token: {(int)posted.StatusCode} → {posted.Headers.Location}");

        // The key ring the nodes share is in the cluster's blob container (nodes on one machine could otherwise share a
        // home folder's key ring by accident and hide a missing one).
        var container = new Azure.Storage.Blobs.BlobContainerClient(cluster.Azurite.ConnectionString, cluster.Container, Storage.AzureBlob.AzureBlobOptions.ClientOptions());
        var keys = new List<string>();
        await foreach (var item in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, "console-keys/", CancellationToken.None))
        {
            keys.Add(item.Name);
        }

        Assert.NotEmpty(keys);
    }
}
