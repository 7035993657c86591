using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Content search (issue 24 §2) on an embedded server: what was said is found once appended (indexed behind the
/// append), per tenant, paged, gone with the session; bad queries get 400 with a code; the CLI prints how to resume.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ContentSearchTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private HttpClient Client(string tenant)
    {
        var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", tenant);
        return http;
    }

    private static string Said(string uuid, string text, string role = "user") =>
        new JsonObject { ["type"] = role, ["uuid"] = uuid, ["timestamp"] = "2026-12-01T10:00:00.000Z", ["message"] = new JsonObject { ["role"] = role, ["content"] = text } }.ToJsonString();

    private static async Task AppendAsync(HttpClient http, string project, string session, params string[] entries)
    {
        using var response = await http.PostAsync($"v1/projects/{project}/sessions/{session}/entries", Calls.Json("[" + string.Join(',', entries) + "]"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    // The index follows appends in the background: wait (briefly) until the answer has what is expected.
    private static async Task<JsonObject> SearchAsync(HttpClient http, string query, Func<JsonArray, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            using var response = await http.GetAsync(query);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            var answer = (JsonObject)JsonNode.Parse(text)!;
            if (done((JsonArray)answer["results"]!) || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task WhatWasSaid_IsFound_InItsTenantOnly_Paged_AndGoesWithTheSession()
    {
        var tenant = "search-" + Guid.NewGuid().ToString("N")[..8];
        using var http = Client(tenant);
        var ids = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString()).ToList();
        await AppendAsync(http, "proj-a", ids[0], Said("a1", "the quokka migration broke the build"), Said("a2", "I will fix the quokka importer", "assistant"));
        await AppendAsync(http, "proj-a", ids[1], Said("b1", "nothing to see"), Said("b2", "quokka again"));
        await AppendAsync(http, "proj-b", ids[2], Said("c1", "a quokka in another project"));

        var all = await SearchAsync(http, "v1/search?q=quokka", r => r.Count == 3);
        var results = (JsonArray)all["results"]!;
        Assert.Equal(ids.Order(), results.Select(r => r!["session"]!["sessionId"]!.GetValue<string>()).Order());
        var first = results.Single(r => r!["session"]!["sessionId"]!.GetValue<string>() == ids[0])!;
        Assert.Equal(["a1", "a2"], ((JsonArray)first["messages"]!).Select(m => m!["uuid"]!.GetValue<string>()).Order());
        Assert.All((JsonArray)first["messages"]!, m => Assert.Contains("**quokka**", m!["snippet"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal("proj-a", first["session"]!["projectKey"]!.GetValue<string>());

        var phrase = await SearchAsync(http, "v1/search?q=" + Uri.EscapeDataString("\"quokka migration\" -importer"), r => r.Count == 1);
        Assert.Equal(ids[0], Assert.Single((JsonArray)phrase["results"]!)!["session"]!["sessionId"]!.GetValue<string>());
        var project = await SearchAsync(http, "v1/search?q=quokka&project=proj-b", r => r.Count == 1);
        Assert.Equal(ids[2], Assert.Single((JsonArray)project["results"]!)!["session"]!["sessionId"]!.GetValue<string>());

        // Pages of one, by the cursor, visit all three once.
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await SearchAsync(http, "v1/search?q=quokka&limit=1" + (cursor is null ? "" : "&cursor=" + cursor), _ => true);
            seen.AddRange(((JsonArray)page["results"]!).Select(r => r!["session"]!["sessionId"]!.GetValue<string>()));
            cursor = page["nextCursor"]?.GetValue<string>();
        }
        while (cursor is not null && seen.Count < 10);
        Assert.Equal(ids.Order(), seen.Order());

        // Another tenant's words never match; a deleted session is not found again.
        using (var other = Client("search-other-" + Guid.NewGuid().ToString("N")[..8]))
        {
            Assert.Empty((JsonArray)(await SearchAsync(other, "v1/search?q=quokka", _ => true))["results"]!);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"v1/projects/proj-a/sessions/{ids[0]}")).StatusCode);
        var after = await SearchAsync(http, "v1/search?q=quokka", r => r.Count == 2);
        Assert.DoesNotContain(ids[0], ((JsonArray)after["results"]!).Select(r => r!["session"]!["sessionId"]!.GetValue<string>()));

        // The CLI: session, title, snippet and how to resume it.
        var (code, output, error) = await server.CliAsync("search", "quokka", "--project", "proj-b", "--tenant", tenant);
        Assert.True(code == 0, error);
        Assert.Contains(ids[2], output, StringComparison.Ordinal);
        Assert.Contains("**quokka**", output, StringComparison.Ordinal);
        Assert.Contains($"sessions resume {ids[2]}", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("v1/search", "")]
    [InlineData("v1/search?q=", "invalid_query")]
    [InlineData("v1/search?q=-only", "invalid_query")]
    [InlineData("v1/search?q=%22%22", "invalid_query")]
    [InlineData("v1/search?q=a&limit=0", "invalid_limit")]
    [InlineData("v1/search?q=a&limit=101", "invalid_limit")]
    [InlineData("v1/search?q=a&cursor=abc", "invalid_cursor")]
    [InlineData("v1/search?q=a&cursor=-1", "invalid_cursor")]
    [InlineData("v1/search?q=a&project=..%2Fetc", "")]
    public async Task BadQueries_Get400_WithACode(string url, string code)
    {
        using var http = Client("search-bad");
        using var response = await http.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{(int)response.StatusCode} {text}");
        if (code.Length > 0)
        {
            Assert.Equal(code, JsonNode.Parse(text)!["code"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task AQueryOfTheLongestLength_AndOddCharacters_NeverAnswer500()
    {
        using var http = Client("search-odd");
        foreach (var q in new[] { new string('x', 200), new string('x', 201), "\"unterminated", "OR", "a OR", "-a b", "ü é ß", "'; DROP TABLE messages; --", "NEAR(a b)", "a* b^ c:", "\u0000", "😀" })
        {
            using var response = await http.GetAsync("v1/search?q=" + Uri.EscapeDataString(q));
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"{q}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task WithContentIndexingOff_NoMessageTextIsKept_AndSearchSaysSo()
    {
        var app = SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Sessions:DataDir", Sessions.Cluster.Testing.RepoPaths.TempDir("search-off"),
            "--Sessions:IndexContent", "false", "--Logging:LogLevel:Default", "Warning"]);
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address + "/") };
            await AppendAsync(http, "proj", Guid.NewGuid().ToString(), Said("o1", "the okapi is private"));
            using (var reindex = await http.PostAsync("v1/admin/reindex", null))
            {
                Assert.True(reindex.IsSuccessStatusCode, await reindex.Content.ReadAsStringAsync());
            }

            // Five times the index queue's gathering delay (100 ms): anything queued would be written by now.
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var catalog = app.Services.GetRequiredService<ISessionCatalog>();
            Assert.Empty(await catalog.SearchMessagesAsync("default", SearchQuery.Parse("okapi"), null, 10, 0, CancellationToken.None));
            using var response = await http.GetAsync("v1/search?q=okapi");
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("content_search_off", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["code"]!.GetValue<string>());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
