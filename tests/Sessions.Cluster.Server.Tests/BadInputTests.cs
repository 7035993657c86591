using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>Bad input gets a 4xx problem-details answer and writes nothing.</summary>
[Trait("Category", "Integration")]
public sealed class BadInputTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Pk = "bad-input";

    public static TheoryData<string> InvalidBodies => new()
    {
        "not json",
        "{\"type\":\"user\"}",
        "[1,2]",
        "[{\"uuid\":\"no-type\"}]",
        "[{\"type\":5}]",
        "[{\"type\":\"user\"},",
        "[\"string\"]",
        "[{\"type\":\"user\",\"x\":" + new string('[', 300) + new string(']', 300) + "}]",
        "[{\"type\":\"user\",\"type\":\"user\",\"uuid\":\"d\",\"message\":{\"role\":\"user\",\"content\":\"x\"}}]",
        "[{\"type\":\"user\",\"uuid\":\"n\",\"message\":{\"role\":\"user\",\"content\":\"x\",\"content\":\"y\"}}]",
    };

    [Fact]
    public async Task Reads_StoredLinesWithDuplicateKeysOrLoneSurrogates_NeverAnswer500()
    {
        // Lines no API call can write any more, placed by hand (or by an older version): every read must still answer.
        var sid = "poison-" + Guid.NewGuid().ToString("N")[..8];
        var dir = Path.Combine(server.DataDir, "transcripts", "default", Pk);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, sid + ".jsonl"), string.Join('\n',
            """{"type":"user","type":"user","uuid":"d1","parentUuid":null,"sessionId":"s","timestamp":"2026-01-01T00:00:00Z","message":{"role":"user","content":"first \ud800 prompt"}}""",
            """{"type":"assistant","uuid":"d2","parentUuid":"d1","sessionId":"s","sessionId":"s","timestamp":"2026-01-01T00:00:01Z","message":{"role":"assistant","content":[{"type":"text","text":"x\udc00"}]}}""") + "\n");
        // Hand-placed transcripts reach the catalog (info, listings) through a reindex, which must not fail on them either.
        using (var reindex = await server.Http.PostAsync("v1/admin/reindex", null))
        {
            Assert.True(reindex.IsSuccessStatusCode, await reindex.Content.ReadAsStringAsync());
        }

        foreach (var path in new[] { $"{sid}/messages", $"{sid}/context", sid, $"{sid}/messages?includeSystemMessages=true" })
        {
            using var response = await server.Http.GetAsync($"v1/projects/{Pk}/sessions/{path}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        var (forked, fork) = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/{sid}/fork", "{}");
        Assert.Equal(HttpStatusCode.Created, forked);
        var forkId = fork!["sessionId"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/sessions/{forkId}/messages")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/sessions")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/store/sessions")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(server.Http, HttpMethod.Delete, $"v1/projects/{Pk}/sessions/{sid}")).Status);
    }

    [Theory]
    [InlineData("GET", "sessions?limit=abc", "invalid_parameter")]
    [InlineData("GET", "sessions/s/messages?offset=x", "invalid_parameter")]
    [InlineData("PUT", "sessions/s/summary", "invalid_summary")]
    [InlineData("POST", "sessions/s/rename", "invalid_json")]
    public async Task BadValues_AreProblemsWithACodeAndADetail(string method, string path, string code)
    {
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/s/entries", $"[{Calls.Entry("s1")}]");
        using var request = new HttpRequestMessage(new HttpMethod(method), $"v1/projects/{Pk}/{path}");
        if (method == "POST")
        {
            request.Content = Calls.Json("{\"title\":\"lone \\ud800 surrogate\"}");
        }

        if (method == "PUT")
        {
            request.Content = Calls.Json("{\"mtime\":\"x\",\"data\":{}}");
            request.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
        }

        using var response = await server.Http.SendAsync(request);
        var body = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync());
        Calls.AssertProblem((response.StatusCode, body), 400, code);
    }

    [Fact]
    public async Task Limits_LongUuid_HugeSidecar_AndHugeSmallBodies_AreRefusedWithTheirLimit()
    {
        var sid = "limits-" + Guid.NewGuid().ToString("N")[..8];
        var longUuid = new string('u', Sessions.Cluster.Core.Storage.EntryLimits.MaxUuidLength + 1);
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/{sid}/entries", $"[{Calls.Entry(longUuid)}]"), 400, "invalid_entry");
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/{sid}/entries", $"[{Calls.Entry("ok")}]");

        using var put = new HttpRequestMessage(HttpMethod.Put, $"v1/projects/{Pk}/sessions/{sid}/summary")
        {
            Content = Calls.Json($"{{\"mtime\":1,\"data\":{{\"x\":\"{new string('x', 2 * 1024 * 1024)}\"}}}}"),
        };
        put.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
        using var answer = await server.Http.SendAsync(put);
        var problem = System.Text.Json.Nodes.JsonNode.Parse(await answer.Content.ReadAsStringAsync());
        Calls.AssertProblem((answer.StatusCode, problem), 413, "sidecar_too_large");
        Assert.Equal(Sessions.Cluster.Core.Storage.EntryLimits.MaxSidecarBytes, problem!["limit"]!.GetValue<long>());

        var title = new string('t', Sessions.Cluster.Core.Storage.EntryLimits.MaxSmallBodyBytes);
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/{sid}/rename", $"{{\"title\":\"{title}\"}}"), 413, "body_too_large");
        var (_, loaded) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/sessions/{sid}/entries");
        Assert.Single((System.Text.Json.Nodes.JsonArray)loaded!);
    }

    [Fact]
    public async Task Fork_NonAsciiProjectKey_AnswersCreatedWithAnEncodedLocation()
    {
        const string pk = "%C3%A9t%C3%A9";
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s1/entries", $"[{Calls.Entry("e1")}]");
        using var response = await server.Http.PostAsync($"v1/projects/{pk}/sessions/s1/fork", Calls.Json("{}"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.StartsWith("/v1/projects/%C3%A9t%C3%A9/sessions/", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Append_InvalidBody_Is400_AndTheBatchIsNotWritten(string body)
    {
        var sid = "s-" + Guid.NewGuid().ToString("N");
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/{sid}/entries", $"[{Calls.Entry("keep")}]");
        var mixed = body.StartsWith('[') && body.Length > 2 ? $"[{Calls.Entry("valid-in-rejected-batch")}," + body[1..] : body;
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/{sid}/entries", mixed), 400);
        var (_, loaded) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/sessions/{sid}/entries");
        Assert.Equal(["keep"], ((JsonArray)loaded!).Select(e => e!["uuid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Append_EntryOverTheSizeLimit_Is413WithTheLimit_AndNothingIsWritten()
    {
        var huge = $"[{Calls.Entry("ok")},{Calls.Entry("big", text: new string('x', Sessions.Cluster.Core.Storage.EntryLimits.DefaultMaxEntryBytes + 10))}]";
        var answer = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/huge/entries", huge);
        Calls.AssertProblem(answer, 413, "entry_too_large");
        Assert.Equal(Sessions.Cluster.Core.Storage.EntryLimits.DefaultMaxEntryBytes, answer.Body!["limit"]!.GetValue<long>());
        Assert.Equal(HttpStatusCode.NotFound, (await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/sessions/huge/entries")).Status);
    }

    public static TheoryData<string> BadProjectKeys => new() { "a%2Fb", "a%5Cb", "a..b", "..b", "a%0Ab", "a%25b", new string('k', 300) };

    [Theory]
    [MemberData(nameof(BadProjectKeys))]
    public async Task AnyEndpoint_UnsafeProjectKey_Is400(string projectKey)
    {
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{projectKey}/sessions/s/entries", $"[{Calls.Entry("1")}]"), 400, "invalid_key");
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{projectKey}/sessions"), 400, "invalid_key");
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{projectKey}/store/sessions"), 400, "invalid_key");
        AssertNothingOutsideData();
    }

    [Theory]
    [InlineData("..")]
    [InlineData("%2E%2E")]
    public async Task AnyEndpoint_DotDotSegmentAsProjectKey_NeverReachesStorage_AndIs404Problem(string projectKey)
    {
        // HTTP clients and Kestrel remove dot segments, so the request matches no route at all.
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{projectKey}/sessions/s/entries", $"[{Calls.Entry("1")}]"), 404, "route_not_found");
        AssertNothingOutsideData();
    }

    [Fact]
    public async Task AnyEndpoint_NulInPath_IsRejectedBeforeTheApplication()
    {
        // Kestrel refuses a NUL in the request target with a bare 400 before any middleware runs.
        var (status, _) = await Calls.SendAsync(server.Http, HttpMethod.Post, "v1/projects/a%00b/sessions/s/entries", $"[{Calls.Entry("1")}]");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertNothingOutsideData();
    }

    public static TheoryData<string> BadSubpaths => new() { "..%2F..%2Fescape", "%2Fabsolute", "a%2F%2Fb", "subagents%2F..", "a%00b", "", "a%5C..%5Cb", "trailing%2F" };

    [Theory]
    [MemberData(nameof(BadSubpaths))]
    public async Task Append_SubpathEscapingItsSession_Is400(string subpath)
    {
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/s/entries?subpath={subpath}", $"[{Calls.Entry("1")}]"), 400, "invalid_key");
        AssertNothingOutsideData();
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "/messages")]
    [InlineData("GET", "/context")]
    [InlineData("GET", "/transcript")]
    [InlineData("POST", "/fork")]
    [InlineData("POST", "/rename")]
    [InlineData("POST", "/tag")]
    [InlineData("DELETE", "")]
    public async Task SessionOperation_UnknownSessionId_Is404(string method, string suffix)
    {
        var body = suffix switch { "/rename" => "{\"title\":\"t\"}", "/tag" => "{\"tag\":\"t\"}", "/fork" => "{}", _ => null };
        Calls.AssertProblem(await Calls.SendAsync(server.Http, new HttpMethod(method), $"v1/projects/{Pk}/sessions/{Guid.NewGuid()}{suffix}", body), 404, "session_not_found");
    }

    [Fact]
    public async Task Fork_AtUnknownMessage_Is404_AndCreatesNoSession()
    {
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/fork-bad/sessions/s/entries", $"[{Calls.Entry("1")}]");
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, "v1/projects/fork-bad/sessions/s/fork", "{\"upToMessageId\":\"no-such-uuid\"}"), 404, "message_not_found");
        var (_, sessions) = await Calls.SendAsync(server.Http, HttpMethod.Get, "v1/projects/fork-bad/store/sessions");
        Assert.Single((JsonArray)sessions!);
    }

    [Theory]
    [InlineData("/rename", "{\"title\":\"   \"}", "invalid_title")]
    [InlineData("/rename", "{not json", "invalid_json")]
    [InlineData("/tag", "{\"tag\":\"\"}", "invalid_tag")]
    public async Task RenameOrTag_InvalidValue_Is400(string suffix, string body, string code)
    {
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/named/entries", $"[{Calls.Entry("1")}]");
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/named{suffix}", body), 400, code);
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=5000")]
    [InlineData("cursor=not-a-cursor")]
    public async Task List_InvalidPaging_Is400(string query)
    {
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{Pk}/sessions?{query}"), 400);
    }

    [Fact]
    public async Task Summary_PutWithoutIfMatch_Is400()
    {
        await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Pk}/sessions/sum/entries", $"[{Calls.Entry("1")}]");
        Calls.AssertProblem(await Calls.SendAsync(server.Http, HttpMethod.Put, $"v1/projects/{Pk}/sessions/sum/summary", "{\"mtime\":1,\"data\":{}}"), 400, "if_match_required");
    }

    private void AssertNothingOutsideData()
    {
        var root = Path.Combine(server.DataDir, "transcripts");
        if (!Directory.Exists(root))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            Assert.False(relative.StartsWith("..", StringComparison.Ordinal), $"{file} is outside the data folder");
            Assert.DoesNotContain("escape", relative, StringComparison.Ordinal);
        }

        Assert.False(File.Exists(Path.Combine(server.DataDir, "escape.jsonl")));
    }
}
