using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>Concurrent writers through the API never lose, duplicate or interleave entries.</summary>
[Trait("Category", "Integration")]
public sealed class ConcurrencyTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Append_EightWritersOnOneSession_EveryEntryOnceInEachWritersOrder_FileParses()
    {
        const int writers = 8, batches = 25, perBatch = 4;
        var pk = "concurrency";
        var sid = Guid.NewGuid().ToString();
        using var start = new SemaphoreSlim(0, writers);
        var tasks = Enumerable.Range(0, writers).Select(async w =>
        {
            using var http = new HttpClient { BaseAddress = server.BaseUrl };
            await start.WaitAsync();
            for (var b = 0; b < batches; b++)
            {
                var body = "[" + string.Join(',', Enumerable.Range(0, perBatch).Select(i => Calls.Entry($"w{w}-{(b * perBatch) + i:D4}"))) + "]";
                // A retry of the same batch (as the SDK does on a timeout) must not duplicate anything.
                for (var attempt = 0; attempt < (b % 5 == 0 ? 2 : 1); attempt++)
                {
                    using var response = await http.PostAsync($"v1/projects/{pk}/sessions/{sid}/entries", Calls.Json(body));
                    response.EnsureSuccessStatusCode();
                }
            }
        }).ToList();
        start.Release(writers);
        await Task.WhenAll(tasks);

        using var transcript = await server.Http.GetAsync($"v1/projects/{pk}/sessions/{sid}/transcript");
        var lines = (await transcript.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var uuids = lines.Select(l => JsonNode.Parse(l)!["uuid"]!.GetValue<string>()).ToList();
        Assert.Equal(writers * batches * perBatch, uuids.Count);
        Assert.Equal(uuids.Count, uuids.Distinct().Count());
        for (var w = 0; w < writers; w++)
        {
            var mine = uuids.Where(u => u.StartsWith($"w{w}-", StringComparison.Ordinal)).ToList();
            Assert.Equal(mine.Order(StringComparer.Ordinal), mine);
        }
    }
}
