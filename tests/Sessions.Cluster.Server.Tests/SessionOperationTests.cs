using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>Continue, ephemeral sessions, context after compaction, list paging and filters.</summary>
[Trait("Category", "Integration")]
public sealed class SessionOperationTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Latest_ReturnsMostRecentlyWrittenNonSidechainSession()
    {
        var pk = "continue-" + Guid.NewGuid().ToString("N")[..6];
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/older/entries", $"[{Calls.Entry("o1")}]");
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/newer/entries", $"[{Calls.Entry("n1")}]");
        await Task.Delay(5);
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/sidechain/entries", """[{"type":"user","uuid":"s1","isSidechain":true,"message":{"content":"side"}}]""");
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/older/entries", $"[{Calls.Entry("o2")}]");
        var (status, latest) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/latest");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("older", latest!["sessionId"]!.GetValue<string>());
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Get, "v1/projects/empty-project/sessions/latest"), 404, "session_not_found");
    }

    [Fact]
    public async Task Ephemeral_AnswersLikeAnyOther_ButIsNeverWrittenToTheTranscriptStore()
    {
        var pk = "ephemeral";
        var (_, created) = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions", "{\"ephemeral\":true}");
        var id = created!["sessionId"]!.GetValue<string>();
        Assert.True(Guid.TryParse(id, out _));
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries", $"[{Calls.Entry("e1", text: "ephemeral prompt")}]")).Status);
        var (_, info) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/{id}");
        Assert.Equal("ephemeral prompt", info!["firstPrompt"]!.GetValue<string>());
        var (_, messages) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/{id}/messages");
        Assert.Single((JsonArray)messages!);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.DataDir, "transcripts"), id + "*", SearchOption.AllDirectories));
        var (_, listed) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/sessions");
        Assert.Empty((JsonArray)listed!);
    }

    [Fact]
    public async Task Context_StartsAtTheLastCompactionBoundary_FullHistoryStays()
    {
        var pk = "context";
        var entries = """
            [{"type":"user","uuid":"a","message":{"content":"first"}},
             {"type":"system","subtype":"compact_boundary","uuid":"b1","parentUuid":null,"logicalParentUuid":"a"},
             {"type":"user","uuid":"c","parentUuid":"b1","isCompactSummary":true,"message":{"content":"summary 1"}},
             {"type":"system","subtype":"compact_boundary","uuid":"b2","parentUuid":null,"logicalParentUuid":"c"},
             {"type":"user","uuid":"d","parentUuid":"b2","isCompactSummary":true,"message":{"content":"summary 2"}},
             {"type":"user","uuid":"e","parentUuid":"d","message":{"content":"after"}}]
            """;
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries", entries);
        var (_, context) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/s/context");
        Assert.Equal(["b2", "d", "e"], ((JsonArray)context!).Select(e => e!["uuid"]!.GetValue<string>()));
        var (_, all) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/s/entries");
        Assert.Equal(6, ((JsonArray)all!).Count);
    }

    [Fact]
    public async Task List_CursorPaging_VisitsEverySessionOnceNewestFirst_AndTextFilterMatches()
    {
        var pk = "paging";
        for (var i = 0; i < 23; i++)
        {
            await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s{i:D2}/entries", $"[{Calls.Entry($"u{i}", text: i % 5 == 0 ? $"needle {i}" : $"hay {i}")}]");
        }

        var seen = new List<(string Id, long Mtime)>();
        string? cursor = null;
        do
        {
            var (_, page) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions?limit=5" + (cursor is null ? "" : $"&cursor={cursor}"));
            seen.AddRange(((JsonArray)page!["sessions"]!).Select(s => (s!["sessionId"]!.GetValue<string>(), s["lastModified"]!.GetValue<long>())));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        Assert.Equal(23, seen.Select(s => s.Id).Distinct().Count());
        Assert.Equal(23, seen.Count);
        Assert.Equal(seen.OrderByDescending(s => s.Mtime).ThenByDescending(s => s.Id, StringComparer.Ordinal), seen);

        var (_, found) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions?q=NEEDLE");
        Assert.Equal(["s00", "s05", "s10", "s15", "s20"], ((JsonArray)found!["sessions"]!).Select(s => s!["sessionId"]!.GetValue<string>()).Order());
    }

    [Fact]
    public async Task Reindex_RebuildsTheCatalogFromTranscripts()
    {
        await Calls.SendAsync(server.Http, HttpMethod.Post, "v1/projects/reindex/sessions/r1/entries", $"[{Calls.Entry("x", text: "reindexed prompt")}]");
        var (status, body) = await Calls.SendAsync(server.Http, HttpMethod.Post, "v1/admin/reindex");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body!["sessions"]!.GetValue<int>() >= 1);
        var (_, info) = await Calls.SendAsync(server.Http, HttpMethod.Get, "v1/projects/reindex/sessions/r1");
        Assert.Equal("reindexed prompt", info!["summary"]!.GetValue<string>());
    }

    [Fact]
    public async Task OpenApiAndHealth_AreServed()
    {
        using var openApi = await server.Http.GetAsync("openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);
        Assert.Contains("/v1/projects/{projectKey}/sessions/{sessionId}/fork", await openApi.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var live = await server.Http.GetAsync("health/live");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
