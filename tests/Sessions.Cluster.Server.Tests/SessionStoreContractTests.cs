using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>The SessionStore contracts the SDK documents on its <c>SessionStore</c> type, over HTTP.</summary>
[Trait("Category", "Integration")]
public sealed class SessionStoreContractTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static string P() => "proj-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<JsonArray?> LoadAsync(string pk, string sid, string? subpath = null)
    {
        var (status, body) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/{sid}/entries" + (subpath is null ? "" : $"?subpath={Uri.EscapeDataString(subpath)}"));
        return status == HttpStatusCode.NotFound ? null : (JsonArray)body!;
    }

    // An append body carrying a summary sidecar: {"entries": [entry], "summary": summary}.
    private static string WithSummary(string entry, string summary) => "{\"entries\":[" + entry + "],\"summary\":" + summary + "}";

    private Task<(HttpStatusCode, JsonNode?)> AppendAsync(string pk, string sid, string body, string? subpath = null) =>
        Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{sid}/entries" + (subpath is null ? "" : $"?subpath={Uri.EscapeDataString(subpath)}"), body);

    [Fact]
    public async Task Append_ThenLoad_ReturnsSameEntriesInOrder_DeepEqual()
    {
        var pk = P();
        var entries = new JsonArray(
            JsonNode.Parse("""{"type":"user","uuid":"a","message":{"content":"hi"},"unknownField":{"nested":[1,2.5,true,null]}}"""),
            JsonNode.Parse("""{"type":"x-custom","payload":"no uuid"}"""),
            JsonNode.Parse("""{"type":"assistant","uuid":"b","parentUuid":"a","émoji":"😀"}"""));
        Assert.Equal(HttpStatusCode.OK, (await AppendAsync(pk, "sess", entries.ToJsonString())).Item1);
        Assert.True(JsonNode.DeepEquals(entries, await LoadAsync(pk, "sess")));
    }

    [Fact]
    public async Task Load_OfAHandPlacedTranscript_SkipsBlankLines_AndIsExactlyItsAnnouncedLength()
    {
        // A transcript copied into the data folder by hand: CRLF line ends, blank and whitespace-only lines, and a last
        // line without its newline (a torn write, which readers never see).
        var pk = P();
        var dir = Path.Combine(server.DataDir, "transcripts", "default", pk);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "placed.jsonl"), "{\"a\":1}\r\n\n   \n{\"b\":\"x\\ny\"}\n\t\n{\"c\":[3]}\n{\"torn\":");
        using var response = await server.Http.GetAsync($"v1/projects/{pk}/sessions/placed/entries");
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""[{"a":1},{"b":"x\ny"},{"c":[3]}]"""), JsonNode.Parse(body)));
    }

    [Fact]
    public async Task Load_UnknownKey_IsNotFound()
    {
        Assert.Null(await LoadAsync(P(), "never-written"));
    }

    [Fact]
    public async Task Append_SeveralCalls_KeepsCallOrder_AndEmptyBatchIsNoOp()
    {
        var pk = P();
        await AppendAsync(pk, "s", $"[{Calls.Entry("1")}]");
        await AppendAsync(pk, "s", "[]");
        await AppendAsync(pk, "s", $"[{Calls.Entry("2")},{Calls.Entry("3")}]");
        Assert.Equal(["1", "2", "3"], (await LoadAsync(pk, "s"))!.Select(e => e!["uuid"]!.GetValue<string>()));
        var (status, _) = await AppendAsync(pk, "empty", "[]");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(await LoadAsync(pk, "empty"));
    }

    [Fact]
    public async Task Append_DuplicateUuid_IsStoredOnce_EntriesWithoutUuidAlwaysAppended()
    {
        var pk = P();
        await AppendAsync(pk, "s", $"[{Calls.Entry("1")},{{\"type\":\"tag\",\"tag\":\"x\"}}]");
        var (_, second) = await AppendAsync(pk, "s", $"[{Calls.Entry("1")},{Calls.Entry("2")},{Calls.Entry("2")},{{\"type\":\"tag\",\"tag\":\"x\"}}]");
        Assert.Equal(2, second!["appended"]!.GetValue<int>());
        Assert.Equal(2, second["duplicates"]!.GetValue<int>());
        Assert.Equal(["user", "tag", "user", "tag"], (await LoadAsync(pk, "s"))!.Select(e => e!["type"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Subpaths_AreIndependentLogs_ListedBySubkeys_NotBySessions()
    {
        var pk = P();
        await AppendAsync(pk, "s", $"[{Calls.Entry("main")}]");
        await AppendAsync(pk, "s", $"[{Calls.Entry("sub")}]", "subagents/agent-1");
        await AppendAsync(pk, "s", $"[{Calls.Entry("sub2")}]", "subagents/agent-2");
        Assert.Equal(["main"], (await LoadAsync(pk, "s"))!.Select(e => e!["uuid"]!.GetValue<string>()));
        Assert.Equal(["sub"], (await LoadAsync(pk, "s", "subagents/agent-1"))!.Select(e => e!["uuid"]!.GetValue<string>()));
        var (_, subkeys) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/s/subkeys");
        Assert.Equal(["subagents/agent-1", "subagents/agent-2"], ((JsonArray)subkeys!).Select(x => x!.GetValue<string>()));
        var (_, sessions) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/sessions");
        Assert.Equal(["s"], ((JsonArray)sessions!).Select(x => x!["sessionId"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ProjectKey_Isolates_SameSessionIdUnderTwoProjects()
    {
        string a = P(), b = P();
        await AppendAsync(a, "same", $"[{Calls.Entry("in-a")}]");
        await AppendAsync(b, "same", $"[{Calls.Entry("in-b")}]");
        Assert.Equal(["in-a"], (await LoadAsync(a, "same"))!.Select(e => e!["uuid"]!.GetValue<string>()));
        Assert.Equal(["in-b"], (await LoadAsync(b, "same"))!.Select(e => e!["uuid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Delete_MainKey_CascadesToSubpaths_SubpathKeyRemovesOnlyItself()
    {
        var pk = P();
        await AppendAsync(pk, "s", $"[{Calls.Entry("m")}]");
        await AppendAsync(pk, "s", $"[{Calls.Entry("x")}]", "subagents/agent-1");
        await AppendAsync(pk, "s", $"[{Calls.Entry("y")}]", "subagents/agent-2");
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(server.Http, HttpMethod.Delete, $"v1/projects/{pk}/sessions/s?subpath=subagents/agent-1")).Status);
        Assert.Null(await LoadAsync(pk, "s", "subagents/agent-1"));
        Assert.NotNull(await LoadAsync(pk, "s", "subagents/agent-2"));
        Assert.NotNull(await LoadAsync(pk, "s"));
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(server.Http, HttpMethod.Delete, $"v1/projects/{pk}/sessions/s")).Status);
        Assert.Null(await LoadAsync(pk, "s"));
        Assert.Null(await LoadAsync(pk, "s", "subagents/agent-2"));
        var (_, sessions) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/sessions");
        Assert.Empty((JsonArray)sessions!);
    }

    [Fact]
    public async Task Summary_SidecarMtimeSharesTheListSessionsClock_AndCasRejectsStaleVersion()
    {
        var pk = P();
        var (_, appended) = await AppendAsync(pk, "s", $"[{Calls.Entry("1")}]");
        var mtime = appended!["mtime"]!.GetValue<long>();
        var (_, sessions) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/sessions");
        Assert.Equal(mtime, sessions![0]!["mtime"]!.GetValue<long>());

        async Task<HttpStatusCode> PutAsync(string version, string data)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, $"v1/projects/{pk}/sessions/s/summary") { Content = Calls.Json($"{{\"mtime\":{mtime},\"data\":{data}}}") };
            request.Headers.TryAddWithoutValidation("If-Match", $"\"{version}\"");
            using var response = await server.Http.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await PutAsync("0", """{"firstPrompt":"one","opaque":{"k":[1]}}"""));
        Assert.Equal(HttpStatusCode.Conflict, await PutAsync("0", """{"firstPrompt":"lost"}"""));
        Assert.Equal(HttpStatusCode.OK, await PutAsync("1", """{"firstPrompt":"two"}"""));
        Assert.Equal(HttpStatusCode.Conflict, await PutAsync("1", """{"firstPrompt":"stale"}"""));
        var (_, summaries) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/summaries");
        var only = Assert.Single((JsonArray)summaries!);
        Assert.Equal(mtime, only!["mtime"]!.GetValue<long>());
        Assert.Equal("two", only["data"]!["firstPrompt"]!.GetValue<string>());
    }

    [Fact]
    public async Task Append_WithSummary_StoresEntriesAndSidecarInOneCall_StampedWithTheAppendsMtime()
    {
        var pk = P();
        var (status, first) = await AppendAsync(pk, "s", WithSummary(Calls.Entry("1"), """{"version":0,"data":{"firstPrompt":"one","opaque":{"k":[1,2.5]}}}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(first!["summary"]!["stored"]!.GetValue<bool>());
        Assert.Equal(1, first["summary"]!["version"]!.GetValue<long>());
        var (_, second) = await AppendAsync(pk, "s", WithSummary(Calls.Entry("2"), """{"version":1,"data":{"firstPrompt":"one","n":2}}"""));
        Assert.Equal(2, second!["summary"]!["version"]!.GetValue<long>());

        var (_, summaries) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/store/summaries");
        var only = Assert.Single((JsonArray)summaries!);
        Assert.Equal(second["mtime"]!.GetValue<long>(), only!["mtime"]!.GetValue<long>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"firstPrompt":"one","n":2}"""), only["data"]));
        Assert.Equal(["1", "2"], (await LoadAsync(pk, "s"))!.Select(e => e!["uuid"]!.GetValue<string>()));

        // An array body carries no summary and its answer has none.
        var (_, plain) = await AppendAsync(pk, "s", $"[{Calls.Entry("3")}]");
        Assert.Null(plain!["summary"]);
    }

    [Fact]
    public async Task Append_WithStaleSummaryVersion_StoresTheEntries_AndAnswersTheCurrentSidecar()
    {
        var pk = P();
        await AppendAsync(pk, "s", WithSummary(Calls.Entry("1"), """{"version":0,"data":{"by":"a"}}"""));
        var (status, answer) = await AppendAsync(pk, "s", WithSummary(Calls.Entry("2"), """{"version":0,"data":{"by":"b"}}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(answer!["summary"]!["stored"]!.GetValue<bool>());
        Assert.Equal(1, answer["summary"]!["version"]!.GetValue<long>());
        var current = answer["summary"]!["current"]!;
        Assert.Equal("a", current["data"]!["by"]!.GetValue<string>());
        Assert.Equal(1, current["version"]!.GetValue<long>());
        Assert.Equal("s", current["sessionId"]!.GetValue<string>());
        Assert.Equal(2, (await LoadAsync(pk, "s"))!.Count);

        // The retry's PUT with a stale If-Match also answers the current sidecar, in the problem.
        using var request = new HttpRequestMessage(HttpMethod.Put, $"v1/projects/{pk}/sessions/s/summary") { Content = Calls.Json("""{"mtime":1,"data":{"by":"late"}}""") };
        request.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
        using var response = await server.Http.SendAsync(request);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("summary_version_conflict", problem["code"]!.GetValue<string>());
        Assert.Equal("a", problem["current"]!["data"]!["by"]!.GetValue<string>());
        Assert.Equal(1, problem["current"]!["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task Append_WithSummary_AfterAWriteWithoutOne_AsksForAFoldOfTheWholeTranscript()
    {
        var pk = P();
        await AppendAsync(pk, "s", WithSummary(Calls.Entry("1"), """{"version":0,"data":{"by":"sdk"}}"""));
        await Task.Delay(5);
        Assert.Equal(HttpStatusCode.OK, (await AppendAsync(pk, "s", $"[{Calls.Entry("2")}]")).Item1);
        await Task.Delay(5);

        // The sidecar (version 1) has not seen entry 2: a fold over it would miss it.
        var (status, answer) = await AppendAsync(pk, "s", WithSummary(Calls.Entry("3"), """{"version":1,"data":{"by":"sdk, from version 1"}}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(answer!["summary"]!["stored"]!.GetValue<bool>());
        Assert.Equal(1, answer["summary"]!["version"]!.GetValue<long>());
        Assert.Null(answer["summary"]!["current"]);
        Assert.Equal(3, (await LoadAsync(pk, "s"))!.Count);

        // A fold from nothing over a transcript this append did not create is refused the same way.
        await AppendAsync(pk, "other", $"[{Calls.Entry("1")}]");
        var (_, fresh) = await AppendAsync(pk, "other", WithSummary(Calls.Entry("2"), """{"version":0,"data":{}}"""));
        Assert.False(fresh!["summary"]!["stored"]!.GetValue<bool>());
        Assert.Equal(0, fresh["summary"]!["version"]!.GetValue<long>());
        Assert.Null(fresh["summary"]!["current"]);
    }

    [Theory]
    [InlineData("""{"entries":[ENTRY],"summary":{"data":{}}}""", "invalid_summary")]
    [InlineData("""{"entries":[ENTRY],"summary":{"version":-1,"data":{}}}""", "invalid_summary")]
    [InlineData("""{"entries":[ENTRY],"summary":{"version":0,"data":"text"}}""", "invalid_summary")]
    [InlineData("""{"entries":[ENTRY],"summary":[]}""", "invalid_summary")]
    [InlineData("""{"summary":{"version":0,"data":{}}}""", "invalid_entry")]
    [InlineData("""{"entries":{"type":"user"}}""", "invalid_entry")]
    public async Task Append_WithMalformedSummaryOrEntries_IsRefused_AndWritesNothing(string body, string code)
    {
        var pk = P();
        Calls.AssertProblem(await AppendAsync(pk, "s", body.Replace("ENTRY", Calls.Entry("1"), StringComparison.Ordinal)), 400, code);
        Assert.Null(await LoadAsync(pk, "s"));
    }

    [Fact]
    [Trait("Category", "Contract")]
    public async Task Append_ToASubpathOfASessionWithoutMain_Is404_AndWritesNothing_UntilTheMainExists()
    {
        var pk = P();
        var refused = await AppendAsync(pk, "s", $"[{Calls.Entry("sub")}]", "subagents/agent-1");
        Calls.AssertProblem(refused, 404, "session_not_found");
        Assert.Contains("main transcript", refused.Item2!["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(await LoadAsync(pk, "s", "subagents/agent-1"));
        var (_, subkeys) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/s/subkeys");
        Assert.Empty((JsonArray)subkeys!);

        await AppendAsync(pk, "s", $"[{Calls.Entry("main")}]");
        Assert.Equal(HttpStatusCode.OK, (await AppendAsync(pk, "s", $"[{Calls.Entry("sub")}]", "subagents/agent-1")).Item1);
        Assert.Equal(["sub"], (await LoadAsync(pk, "s", "subagents/agent-1"))!.Select(e => e!["uuid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Append_WithSummaryToASubpath_IsRefused_AndWritesNothing()
    {
        var pk = P();
        Calls.AssertProblem(await AppendAsync(pk, "s", WithSummary(Calls.Entry("1"), """{"version":0,"data":{}}"""), "subagents/agent-1"), 400, "summary_on_subpath");
        Assert.Null(await LoadAsync(pk, "s", "subagents/agent-1"));
    }

    [Fact]
    public async Task Append_WithStaleExpectedLength_IsConflict_AndWritesNothing()
    {
        var pk = P();
        var (_, first) = await AppendAsync(pk, "s", $"[{Calls.Entry("1")}]");
        var length = first!["length"]!.GetValue<long>();
        var answer = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries?expectedLength={length - 1}", $"[{Calls.Entry("2")}]");
        Calls.AssertProblem(answer, 409, "append_position_conflict");
        Assert.Equal(length.ToString(System.Globalization.CultureInfo.InvariantCulture), answer.Body!["actual"]!.GetValue<string>());
        Assert.Single((await LoadAsync(pk, "s"))!);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries?expectedLength={length}", $"[{Calls.Entry("2")}]")).Status);
    }
}
