using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Entries nested up to the append path's limit (<see cref="EntryLimits.MaxDepth"/>) are read by every later reader:
/// loads, messages, info, context, subagents, listings, search, forks of them, the console and the CLI; one level
/// past it is refused at the append. Issue 22 §1: a 200-level entry was accepted, then every fork of its session
/// answered 500 and the parent could no longer be deleted. Run on the embedded server and on three cluster nodes
/// (Azure append blobs, hot logs in the grains, requests rotating over the nodes).
/// </summary>
public abstract class DeepEntryTests<TServer>(TServer server)
    where TServer : ITestServer
{
    /// <summary>An entry whose <c>x</c> field nests to <paramref name="depth"/> levels counted from the entry object (the object is level 1).</summary>
    private static string DeepEntry(string uuid, string parent, int depth, string open = "[")
    {
        var close = open == "[" ? "]" : "}";
        var inner = depth - 1;
        return $"{{\"type\":\"assistant\",\"uuid\":\"{uuid}\",\"parentUuid\":\"{parent}\",\"sessionId\":\"s\",\"message\":{{\"role\":\"assistant\",\"content\":\"deep\"}},\"x\":"
            + string.Concat(Enumerable.Repeat(open, inner)) + "1" + string.Concat(Enumerable.Repeat(close, inner)) + "}";
    }

    private static string UserEntry(string uuid, string? parent = null) =>
        new JsonObject { ["type"] = "user", ["uuid"] = uuid, ["parentUuid"] = parent, ["sessionId"] = "s", ["timestamp"] = "2026-01-01T00:00:00.000Z", ["message"] = new JsonObject { ["role"] = "user", ["content"] = "hello deep" } }.ToJsonString();

    [Theory]
    [InlineData(63, "[")]
    [InlineData(65, "[")]
    [InlineData(200, "[")]
    [InlineData(200, "{\"a\":")]
    [InlineData(EntryLimits.MaxDepth, "[")]
    public async Task DeepEntry_UpToTheLimit_EveryReaderAnswers_ForksWork_ParentDeletes(int depth, string open)
    {
        var http = server.Http;
        var pk = "deep" + Guid.NewGuid().ToString("N")[..8];
        var id = Guid.NewGuid().ToString();
        var baseUrl = $"v1/projects/{pk}/sessions/{id}";
        var append = await Calls.SendAsync(http, HttpMethod.Post, $"{baseUrl}/entries", $"[{UserEntry("u1")},{DeepEntry("a1", "u1", depth, open)},{UserEntry("u2", "a1")}]");
        Assert.True(append.Status == HttpStatusCode.OK, $"append: {(int)append.Status} {append.Body?.ToJsonString()}");
        var sub = await Calls.SendAsync(http, HttpMethod.Post, $"{baseUrl}/entries?subpath=subagents/agent-d1", $"[{UserEntry("s1")},{DeepEntry("s2", "s1", depth, open)}]");
        Assert.Equal(HttpStatusCode.OK, sub.Status);

        var fork = await Calls.SendAsync(http, HttpMethod.Post, $"{baseUrl}/fork", "{\"title\":\"deep\"}");
        Assert.True(fork.Status == HttpStatusCode.OK || fork.Status == HttpStatusCode.Created, $"fork: {(int)fork.Status} {fork.Body?.ToJsonString()}");
        var forkId = fork.Body!["sessionId"]!.GetValue<string>();
        var forkAt = await Calls.SendAsync(http, HttpMethod.Post, $"{baseUrl}/fork", "{\"upToMessageId\":\"a1\"}");
        Assert.True(forkAt.Status is HttpStatusCode.OK or HttpStatusCode.Created, $"fork at: {(int)forkAt.Status} {forkAt.Body?.ToJsonString()}");

        string[] reads =
        [
            $"{baseUrl}/entries", $"{baseUrl}/transcript", baseUrl, $"{baseUrl}/messages", $"{baseUrl}/messages?includeSystemMessages=true",
            $"{baseUrl}/context", $"{baseUrl}/subagents", $"{baseUrl}/subagents/d1/messages", $"{baseUrl}/entries?subpath=subagents/agent-d1",
            $"{baseUrl}/messages?subpath=subagents/agent-d1", $"{baseUrl}/subkeys", $"v1/projects/{pk}/sessions", $"v1/projects/{pk}/sessions/latest",
            $"v1/projects/{pk}/store/sessions", $"v1/projects/{pk}/store/summaries", $"v1/sessions/{id}", "v1/sessions?q=hello", "v1/projects",
            $"v1/projects/{pk}/sessions/{forkId}", $"v1/projects/{pk}/sessions/{forkId}/messages", $"v1/projects/{pk}/sessions/{forkId}/entries",
            $"v1/projects/{pk}/sessions/{forkId}/transcript", $"v1/projects/{pk}/sessions/{forkId}/context",
            $"console/projects/{pk}", $"console/projects/{pk}/sessions/{id}", $"console/projects/{pk}/sessions/{id}?raw=true",
            $"console/projects/{pk}/sessions/{id}/subagents/d1", $"console/projects/{pk}/sessions/{forkId}", $"console/projects/{pk}/sessions/{id}/fork",
            "console/search?q=hello",
        ];
        var failures = new List<string>();
        foreach (var url in reads)
        {
            using var response = await http.GetAsync(url);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"GET {url}: {(int)response.StatusCode} {(await response.Content.ReadAsStringAsync())[..Math.Min(300, (int)(response.Content.Headers.ContentLength ?? 300))]}");
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));

        // The fork's entries carry the deep field whole.
        var forkEntries = await Calls.SendAsync(http, HttpMethod.Get, $"v1/projects/{pk}/sessions/{forkId}/entries");
        Assert.Contains(forkEntries.Body!.AsArray(), e => e!["x"] is not null);

        // The CLI reads it too.
        var (code, output, error) = await server.CliAsync("messages", id, "--format", "json");
        Assert.True(code == 0, $"cli messages: {code} {error}");
        Assert.Contains("a1", output, StringComparison.Ordinal);

        // The parent deletes at once, and its forks answer as sessions of their own.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var delete = await http.DeleteAsync(baseUrl, cts.Token);
        Assert.True(delete.IsSuccessStatusCode, $"delete: {(int)delete.StatusCode}");
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(baseUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"v1/projects/{pk}/sessions/{forkId}")).StatusCode);
    }

    [Theory]
    [InlineData(EntryLimits.MaxDepth + 1)]
    [InlineData(EntryLimits.MaxDepth + 50)]
    public async Task DeepEntry_PastTheLimit_IsRefused_NothingWritten(int depth)
    {
        var pk = "deep" + Guid.NewGuid().ToString("N")[..8];
        var id = Guid.NewGuid().ToString();
        var answer = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries", $"[{UserEntry("u1")},{DeepEntry("a1", "u1", depth)}]");
        Calls.AssertProblem(answer, 400);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync($"v1/projects/{pk}/sessions/{id}/entries")).StatusCode);
    }

    [Fact]
    public async Task DeepSummarySidecar_UpToTheLimit_IsStored_ListedAndAnsweredInAConflict()
    {
        var pk = "deep" + Guid.NewGuid().ToString("N")[..8];
        var id = Guid.NewGuid().ToString();
        var inner = EntryLimits.MaxDepth; // the data object and its arrays: as deep as an entry may be
        var data = "{\"x\":" + string.Concat(Enumerable.Repeat("[", inner - 1)) + "1" + string.Concat(Enumerable.Repeat("]", inner - 1)) + "}";
        var first = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries", $"{{\"entries\":[{UserEntry("u1")}],\"summary\":{{\"version\":0,\"data\":{data}}}}}");
        Assert.True(first.Status == HttpStatusCode.OK, $"{(int)first.Status} {first.Body?.ToJsonString()}");
        Assert.True(first.Body!["summary"]!["stored"]!.GetValue<bool>());

        // A stale fold: the entries are stored and the current (deep) sidecar comes back.
        var stale = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries", $"{{\"entries\":[{UserEntry("u2", "u1")}],\"summary\":{{\"version\":0,\"data\":{{}}}}}}");
        Assert.True(stale.Status == HttpStatusCode.OK, $"{(int)stale.Status} {stale.Body?.ToJsonString()}");
        Assert.NotNull(stale.Body!["summary"]!["current"]!["data"]!["x"]);
        var listed = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/summaries");
        Assert.Equal(HttpStatusCode.OK, listed.Status);

        // A PUT of the same sidecar is accepted too; one level deeper is refused, like an entry.
        var put = new HttpRequestMessage(HttpMethod.Put, $"v1/projects/{pk}/sessions/{id}/summary") { Content = Calls.Json($"{{\"mtime\":1,\"data\":{data}}}") };
        put.Headers.TryAddWithoutValidation("If-Match", $"\"{first.Body!["summary"]!["version"]}\"");
        using var putAnswer = await server.Http.SendAsync(put);
        Assert.True(putAnswer.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"{(int)putAnswer.StatusCode} {await putAnswer.Content.ReadAsStringAsync()}");
        var deeper = "{\"x\":[" + data[5..^1] + "]}";
        var refused = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries", $"{{\"entries\":[{UserEntry("u3", "u2")}],\"summary\":{{\"version\":0,\"data\":{deeper}}}}}");
        Calls.AssertProblem(refused, 400);
    }
}

/// <summary>Deep entries on the embedded deployment (files and SQLite).</summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedDeepEntryTests(ServerFixture server) : DeepEntryTests<ServerFixture>(server), IClassFixture<ServerFixture>;

/// <summary>Deep entries on the cluster deployment (three nodes over Azurite and PostgreSQL).</summary>
[Trait("Category", "Cluster")]
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterDeepEntryTests(ClusterFixture server) : DeepEntryTests<ClusterFixture>(server);

/// <summary>The .NET client reads answers as deep as the server writes them (it does not reference the server's Core).</summary>
[Trait("Category", "Unit")]
public sealed class ClientDepthTests
{
    [Fact]
    public void ClientAnswerDepth_EqualsTheServersEnvelopeDepth() =>
        Assert.Equal(EntryLimits.MaxEnvelopeDepth, Sessions.Cluster.Client.SessionsClient.MaxAnswerDepth);
}
