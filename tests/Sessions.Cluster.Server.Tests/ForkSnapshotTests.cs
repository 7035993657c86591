using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// A fork is a sibling seeded from one consistent point of the parent: appends that race with the fork never leak
/// into it, and the fork is always an unbroken prefix of the parent's history.
/// </summary>
public abstract class ForkSnapshotTests<TServer>(TServer server) where TServer : ITestServer
{
    [Fact]
    public async Task Fork_WhileTheParentIsAppendedTo_IsAlwaysAnUnbrokenPrefixOfTheParent()
    {
        var pk = "snapshot-" + Guid.NewGuid().ToString("N")[..8];
        const string parent = "parent";
        string Entry(int i) => new JsonObject
        {
            ["type"] = i % 2 == 0 ? "user" : "assistant",
            ["uuid"] = $"m{i:D5}",
            ["parentUuid"] = i == 0 ? null : $"m{i - 1:D5}",
            ["message"] = new JsonObject { ["role"] = i % 2 == 0 ? "user" : "assistant", ["content"] = $"message {i}" },
        }.ToJsonString();

        using (var first = await server.Http.PostAsync($"v1/projects/{pk}/sessions/{parent}/entries", Calls.Json("[" + string.Join(',', Enumerable.Range(0, 50).Select(Entry)) + "]")))
        {
            first.EnsureSuccessStatusCode();
        }

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            for (var i = 50; !stop.IsCancellationRequested; i++)
            {
                using var response = await server.Http.PostAsync($"v1/projects/{pk}/sessions/{parent}/entries", Calls.Json($"[{Entry(i)}]"));
                response.EnsureSuccessStatusCode();
            }
        });

        var forks = new List<string>();
        for (var f = 0; f < 15; f++)
        {
            using var response = await server.Http.PostAsync($"v1/projects/{pk}/sessions/{parent}/fork", Calls.Json("{}"));
            response.EnsureSuccessStatusCode();
            forks.Add(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["sessionId"]!.GetValue<string>());
        }

        await stop.CancelAsync();
        await writer;
        foreach (var fork in forks)
        {
            using var response = await server.Http.GetAsync($"v1/projects/{pk}/sessions/{fork}/entries");
            var entries = ((JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!).Select(e => e!.AsObject()).ToList();
            var sources = entries.Where(e => e.ContainsKey("forkedFrom")).Select(e => e["forkedFrom"]!["messageUuid"]!.GetValue<string>()).ToList();
            Assert.True(sources.Count >= 50);
            Assert.Equal(Enumerable.Range(0, sources.Count).Select(i => $"m{i:D5}"), sources);
            var parents = entries.Where(e => e.ContainsKey("forkedFrom")).Select(e => e["parentUuid"]?.GetValue<string>()).Skip(1);
            var uuids = entries.Where(e => e.ContainsKey("forkedFrom")).Select(e => e["uuid"]!.GetValue<string>());
            Assert.Equal(uuids.SkipLast(1), parents);
        }
    }
}

[Trait("Category", "Integration")]
public sealed class EmbeddedForkSnapshotTests(ServerFixture server) : ForkSnapshotTests<ServerFixture>(server), IClassFixture<ServerFixture>;

[Trait("Category", "Cluster")]
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterForkSnapshotTests(ClusterFixture server) : ForkSnapshotTests<ClusterFixture>(server);
