using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Content search on a three-node cluster (PostgreSQL full-text search behind every node): what one node appended is
/// found through the others once indexed, and a delete through a third forgets it everywhere at once.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterContentSearchTests(ClusterFixture cluster)
{
    [Fact]
    public async Task WhatOneNodeAppended_IsFoundThroughEveryNode_AndADeleteForgetsItEverywhere()
    {
        var project = "search-" + Guid.NewGuid().ToString("N")[..8];
        var session = Guid.NewGuid().ToString();
        var word = "axolotl" + Guid.NewGuid().ToString("N")[..8];
        var entry = new JsonObject
        {
            ["type"] = "user", ["uuid"] = Guid.NewGuid().ToString(), ["timestamp"] = "2026-12-01T10:00:00.000Z",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = $"the {word} refactor broke the build" },
        }.ToJsonString();
        using (var first = cluster.ClientFor(0))
        using (var appended = await first.PostAsync($"v1/projects/{project}/sessions/{session}/entries", Calls.Json("[" + entry + "]")))
        {
            Assert.True(appended.IsSuccessStatusCode, await appended.Content.ReadAsStringAsync());
        }

        foreach (var node in new[] { 1, 2 })
        {
            using var http = cluster.ClientFor(node);
            var hits = await SearchAsync(http, word, found => found.Count == 1);
            var hit = Assert.Single(hits);
            Assert.Equal(session, hit!["session"]!["sessionId"]!.GetValue<string>());
            Assert.Contains($"**{word}**", hit["messages"]![0]!["snippet"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        using (var third = cluster.ClientFor(2))
        using (var deleted = await third.DeleteAsync($"v1/projects/{project}/sessions/{session}"))
        {
            Assert.True(deleted.IsSuccessStatusCode, await deleted.Content.ReadAsStringAsync());
        }

        using var again = cluster.ClientFor(0);
        Assert.Empty(await SearchAsync(again, word, _ => true));
    }

    // The index follows appends in the background: ask until the answer is what is expected (at most 30 s).
    private static async Task<JsonArray> SearchAsync(HttpClient http, string word, Func<JsonArray, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var response = await http.GetAsync("v1/search?q=" + word);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var results = (JsonArray)JsonNode.Parse(text)!["results"]!;
            if (done(results) || DateTime.UtcNow > deadline)
            {
                return results;
            }

            await Task.Delay(100);
        }
    }
}
