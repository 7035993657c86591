using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>API keys: tenants from keys only, scopes, problem answers, the loopback rule, quotas and rate limits.</summary>
[Trait("Category", "Integration")]
public sealed class AuthTests(KeyedServerFixture server) : IClassFixture<KeyedServerFixture>
{
    private readonly string _tenant = "t" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Requests_WithoutOrWithABadKey_Get401Problems_HealthAndOpenApiStayOpen()
    {
        using var anonymous = new HttpClient { BaseAddress = server.BaseUrl };
        var (status, body) = await Calls.SendAsync(anonymous, HttpMethod.Get, "v1/projects/p/sessions");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthenticated", body!["code"]!.GetValue<string>());
        foreach (var bad in new[] { "nonsense", "sc_0123456789ab_wrongsecret", Keys.Operator + "x", "Bearer" })
        {
            using var http = Keys.Client(server.BaseUrl, bad);
            Assert.Equal(HttpStatusCode.Unauthorized, (await Calls.SendAsync(http, HttpMethod.Get, "v1/projects/p/sessions")).Status);
        }

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task Scopes_ReadKeyCannotWrite_WriteKeyCannotAdminister_OperatorKeyHasNoTenantData()
    {
        var writer = await Keys.IssueAsync(server.BaseUrl, _tenant, "read", "write");
        var reader = await Keys.IssueAsync(server.BaseUrl, _tenant, "read");
        using var w = Keys.Client(server.BaseUrl, writer);
        using var r = Keys.Client(server.BaseUrl, reader);
        using var op = Keys.Client(server.BaseUrl, Keys.Operator);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/s/entries", $"[{Calls.Entry("1")}]")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(r, HttpMethod.Get, "v1/projects/p/sessions/s/entries")).Status);
        var denied = await Calls.SendAsync(r, HttpMethod.Post, "v1/projects/p/sessions/s/entries", $"[{Calls.Entry("2")}]");
        Calls.AssertProblem(denied, 403, "forbidden");
        Calls.AssertProblem(await Calls.SendAsync(w, HttpMethod.Put, "v1/admin/retention", "{\"cleanupPeriodDays\":5}"), 403, "forbidden");
        Calls.AssertProblem(await Calls.SendAsync(w, HttpMethod.Get, "v1/tenants"), 403, "forbidden");
        Calls.AssertProblem(await Calls.SendAsync(op, HttpMethod.Get, "v1/projects/p/sessions/s/entries"), 403);

        // The tenant comes from the key: a header naming another tenant changes nothing.
        using var spoof = Keys.Client(server.BaseUrl, writer);
        spoof.DefaultRequestHeaders.Add("X-Sessions-Tenant", "someone-else");
        var (_, loaded) = await Calls.SendAsync(spoof, HttpMethod.Get, "v1/projects/p/sessions/s/entries");
        Assert.Single((JsonArray)loaded!);
    }

    [Fact]
    public async Task OrleansDashboard_IsServedUnderDashboard_ToTheOperatorKeyOnly()
    {
        var admin = await Keys.IssueAsync(server.BaseUrl, _tenant, "read", "write", "admin");
        using var anonymous = new HttpClient { BaseAddress = server.BaseUrl };
        using var tenantAdmin = Keys.Client(server.BaseUrl, admin);
        using var op = Keys.Client(server.BaseUrl, Keys.Operator);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("dashboard/")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await tenantAdmin.GetAsync("dashboard/")).StatusCode);
        using var page = await op.GetAsync("dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.Forbidden, (await tenantAdmin.GetAsync("dashboard/index.min.js")).StatusCode);
    }

    [Fact]
    public async Task Keys_AreShownOnce_ListedWithoutSecrets_AndRevokedKeysFailAtOnce()
    {
        var admin = await Keys.IssueAsync(server.BaseUrl, _tenant, "read", "write", "admin");
        using var a = Keys.Client(server.BaseUrl, admin);
        var (status, issued) = await Calls.SendAsync(a, HttpMethod.Post, "v1/keys", "{\"scopes\":[\"read\"],\"label\":\"dashboard\"}");
        Assert.Equal(HttpStatusCode.Created, status);
        var key = issued!["key"]!.GetValue<string>();
        var keyId = issued["keyId"]!.GetValue<string>();
        var (_, listed) = await Calls.SendAsync(a, HttpMethod.Get, "v1/keys");
        var text = listed!.ToJsonString();
        Assert.Contains(keyId, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Keys.Secret(key), text, StringComparison.Ordinal);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);

        using var k = Keys.Client(server.BaseUrl, key);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(k, HttpMethod.Get, "v1/projects/p/sessions")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(a, HttpMethod.Delete, $"v1/keys/{keyId}")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await Calls.SendAsync(k, HttpMethod.Get, "v1/projects/p/sessions")).Status);
        Calls.AssertProblem(await Calls.SendAsync(a, HttpMethod.Delete, $"v1/keys/{keyId}"), 404, "key_not_found");
        Calls.AssertProblem(await Calls.SendAsync(a, HttpMethod.Post, "v1/keys", "{\"scopes\":[\"root\"]}"), 400, "invalid_scopes");
    }

    [Fact]
    public void Build_WithoutKeysOnANonLoopbackAddress_RefusesToStart_WithKeysItStarts()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => SessionsServer.Build(["--urls", "http://0.0.0.0:0", "--Sessions:DataDir", Sessions.Cluster.Testing.RepoPaths.TempDir("bind")]));
        Assert.Contains("Sessions:Auth:OperatorKey", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => SessionsServer.Build(["--urls", "http://*:0", "--Sessions:DataDir", Sessions.Cluster.Testing.RepoPaths.TempDir("bind")]));
        Assert.Throws<InvalidOperationException>(() => SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Sessions:Auth:OperatorKey", "too-short", "--Sessions:DataDir", Sessions.Cluster.Testing.RepoPaths.TempDir("bind")]));
        var app = SessionsServer.Build(["--urls", "http://0.0.0.0:0", "--Sessions:Auth:OperatorKey", Keys.Operator, "--Sessions:DataDir", Sessions.Cluster.Testing.RepoPaths.TempDir("bind")]);
        Assert.NotNull(app);
        var local = SessionsServer.Build(["--urls", "http://localhost:0;http://[::1]:0", "--Sessions:DataDir", Sessions.Cluster.Testing.RepoPaths.TempDir("bind")]);
        Assert.NotNull(local);
    }

    [Fact]
    public async Task Quotas_SessionsBytesAndEntrySize_AnswerWithTheLimit()
    {
        var key = await Keys.IssueAsync(server.BaseUrl, _tenant, "read", "write");
        using var op = Keys.Client(server.BaseUrl, Keys.Operator);
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(op, HttpMethod.Put, $"v1/tenants/{_tenant}/limits", "{\"maxSessions\":2,\"maxBytes\":2000,\"maxEntryBytes\":600}")).Status);
        using var w = Keys.Client(server.BaseUrl, key);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/a/entries", $"[{Calls.Entry("a1")}]")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/b/entries", $"[{Calls.Entry("b1")}]")).Status);
        var third = await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/c/entries", $"[{Calls.Entry("c1")}]");
        Calls.AssertProblem(third, 429, "quota_sessions_exceeded");
        Assert.Equal(2, third.Body!["limit"]!.GetValue<long>());
        // A fork is a new session: over the quota it fails in the call, and leaves nothing behind that breaks listings.
        Calls.AssertProblem(await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/a/fork", "{}"), 429, "quota_sessions_exceeded");
        var (listed, list) = await Calls.SendAsync(w, HttpMethod.Get, "v1/projects/p/sessions");
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Equal(2, list!["sessions"]!.AsArray().Count);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/a/entries", $"[{Calls.Entry("a2")}]")).Status);

        var big = await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/a/entries", $"[{Calls.Entry("a3", text: new string('x', 700))}]");
        Calls.AssertProblem(big, 413, "entry_too_large");
        Assert.Equal(600, big.Body!["limit"]!.GetValue<long>());

        var bytes = 0;
        (HttpStatusCode Status, JsonNode? Body) answer;
        do
        {
            answer = await Calls.SendAsync(w, HttpMethod.Post, "v1/projects/p/sessions/b/entries", $"[{Calls.Entry("fill" + bytes++, text: new string('y', 300))}]");
        }
        while (answer.Status == HttpStatusCode.OK && bytes < 50);
        Calls.AssertProblem(answer, 413, "quota_bytes_exceeded");
        Assert.Equal(2000, answer.Body!["limit"]!.GetValue<long>());
    }

    [Fact]
    public async Task RateLimit_PerTenant_Answers429WithRetryAfterAndTheLimit_OtherTenantsUnaffected()
    {
        var key = await Keys.IssueAsync(server.BaseUrl, _tenant, "read");
        var other = await Keys.IssueAsync(server.BaseUrl, _tenant + "x", "read");
        using var op = Keys.Client(server.BaseUrl, Keys.Operator);
        await Calls.SendAsync(op, HttpMethod.Put, $"v1/tenants/{_tenant}/limits", "{\"requestsPerMinute\":5}");
        using var http = Keys.Client(server.BaseUrl, key);
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 8; i++)
        {
            var response = await http.GetAsync("v1/projects/p/sessions");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.NotNull(limited);
        Assert.NotNull(limited!.Headers.RetryAfter);
        var problem = JsonNode.Parse(await limited.Content.ReadAsStringAsync())!;
        Assert.Equal("rate_limited", problem["code"]!.GetValue<string>());
        Assert.Equal(5, problem["limit"]!.GetValue<int>());
        using var o = Keys.Client(server.BaseUrl, other);
        Assert.Equal(HttpStatusCode.OK, (await o.GetAsync("v1/projects/p/sessions")).StatusCode);
    }
}
