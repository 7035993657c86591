using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Tenant B, with its own admin key, calls every endpoint the server maps (enumerated from its endpoint data source,
/// so a new endpoint is covered automatically) and every CLI verb with tenant A's project keys, session ids,
/// subpaths, agent ids, key ids and cursors, also encoded and guessed variants. No answer may contain any of A's
/// content, and A's transcripts, sidecar, hold, policy and keys must be unchanged afterwards.
/// </summary>
[Trait("Category", "Integration")]
public sealed class IsolationMatrixTests(KeyedServerFixture server) : IClassFixture<KeyedServerFixture>
{
    [Fact]
    public async Task TenantB_OnEveryEndpointAndCliVerb_WithTenantAsIdentifiers_SeesAndChangesNothingOfA()
    {
        var marker = "SECRET-A-" + Guid.NewGuid().ToString("N");
        var tenantA = "a" + Guid.NewGuid().ToString("N")[..8];
        var keyA = await Keys.IssueAsync(server.BaseUrl, tenantA, "read", "write", "admin");
        var keyB = await Keys.IssueAsync(server.BaseUrl, "b" + Guid.NewGuid().ToString("N")[..8], "read", "write", "admin");
        using var a = Keys.Client(server.BaseUrl, keyA);

        // Tenant A's data: a session with a subagent, a sidecar, a title, a tag, a hold, a fork, a policy, a key.
        var entries = $"[{Calls.Entry("a1", text: $"{marker} prompt")},{new JsonObject { ["type"] = "assistant", ["uuid"] = "a2", ["parentUuid"] = "a1", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = $"{marker} answer" } }.ToJsonString()}]";
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(a, HttpMethod.Post, "v1/projects/pa/sessions/sa/entries", entries)).Status);
        await Calls.SendAsync(a, HttpMethod.Post, "v1/projects/pa/sessions/sa/entries?subpath=subagents/agent-x", $"[{Calls.Entry("ax", text: $"{marker} subagent")}]");
        using (var put = new HttpRequestMessage(HttpMethod.Put, "v1/projects/pa/sessions/sa/summary") { Content = Calls.Json($"{{\"mtime\":1,\"data\":{{\"firstPrompt\":\"{marker}\"}}}}") })
        {
            put.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
            (await a.SendAsync(put)).EnsureSuccessStatusCode();
        }

        await Calls.SendAsync(a, HttpMethod.Post, "v1/projects/pa/sessions/sa/rename", $"{{\"title\":\"{marker} title\"}}");
        await Calls.SendAsync(a, HttpMethod.Post, "v1/projects/pa/sessions/sa/tag", $"{{\"tag\":\"{marker}-tag\"}}");
        await Calls.SendAsync(a, HttpMethod.Put, "v1/projects/pa/sessions/sa/hold", $"{{\"reason\":\"{marker} hold\"}}");
        await Calls.SendAsync(a, HttpMethod.Put, "v1/admin/retention", "{\"cleanupPeriodDays\":7}");
        var (_, fork) = await Calls.SendAsync(a, HttpMethod.Post, "v1/projects/pa/sessions/sa/fork", "{}");
        var forkId = fork!["sessionId"]!.GetValue<string>();
        var (_, keysOfA) = await Calls.SendAsync(a, HttpMethod.Get, "v1/keys");
        var keyIdA = keysOfA![0]!["keyId"]!.GetValue<string>();
        await Calls.SendAsync(a, HttpMethod.Post, "v1/projects/pa/sessions/more/entries", $"[{Calls.Entry("m1", text: marker)}]");
        var (_, page) = await Calls.SendAsync(a, HttpMethod.Get, "v1/projects/pa/sessions?limit=1");
        var cursorA = page!["nextCursor"]!.GetValue<string>();
        var before = await SnapshotAsync(a, forkId);

        // Every endpoint, every method, with A's identifiers, as tenant B.
        using var b = Keys.Client(server.BaseUrl, keyB);
        b.DefaultRequestHeaders.Add("X-Sessions-Tenant", tenantA);
        var endpoints = server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Pattern: e.RoutePattern.RawText!)))
            .Where(e => !e.Pattern.Contains("{**", StringComparison.Ordinal))
            // The web console's pages take no bearer key (their isolation: ConsoleKeyTests.AnotherTenantsKey_InTheConsole_FindsNothingOfTheFirst).
            .Where(e => e.Pattern != "/" && !e.Pattern.StartsWith("/console", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.True(endpoints.Count >= 35, $"only {endpoints.Count} endpoints found");
        var identifiers = new Dictionary<string, string[]>
        {
            ["projectKey"] = ["pa", "%70%61", "PA"],
            ["sessionId"] = ["sa", forkId, "SA", "sa%00"],
            ["agentId"] = ["x"],
            ["keyId"] = [keyIdA],
            ["tenant"] = [tenantA],
            ["documentName"] = ["v1"],
        };
        var queries = new[] { "", "?subpath=subagents/agent-x", $"?cursor={cursorA}&limit=1000", "?q=SECRET&tag=" + Uri.EscapeDataString($"{marker}-tag") };
        const string body = "{\"title\":\"b\",\"tag\":\"b\",\"reason\":\"b\",\"cleanupPeriodDays\":3,\"scopes\":[\"read\"],\"tenant\":\"planted\",\"mtime\":1,\"data\":{},\"upToMessageId\":\"a1\"}";
        var calls = 0;
        foreach (var (method, pattern) in endpoints)
        {
            foreach (var url in Expand(pattern, identifiers))
            {
                foreach (var query in queries)
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), url.TrimStart('/') + query);
                    if (method is "POST" or "PUT")
                    {
                        request.Content = Calls.Json(pattern.EndsWith("/entries", StringComparison.Ordinal) ? $"[{Calls.Entry("planted-by-b")}]" : body);
                        request.Headers.TryAddWithoutValidation("If-Match", "\"1\"");
                    }

                    using var response = await b.SendAsync(request);
                    var text = await response.Content.ReadAsStringAsync();
                    Assert.True((int)response.StatusCode < 500, $"{method} {url}{query}: {(int)response.StatusCode} {text}");
                    Assert.DoesNotContain(marker, text, StringComparison.Ordinal);
                    Assert.DoesNotContain(Keys.Secret(keyA), text, StringComparison.Ordinal);
                    calls++;
                }
            }
        }

        // Every CLI verb, as tenant B, on A's session ids.
        foreach (var args in new[]
        {
            new[] { "list", "--project", "pa", "--format", "json" }, ["show", "sa", "--project", "pa", "--format", "json"], ["show", forkId, "--format", "json"],
            ["messages", "sa", "--project", "pa", "--format", "json"], ["fork", "sa", "--project", "pa"], ["rename", "sa", "stolen", "--project", "pa"],
            ["tag", "sa", "stolen", "--project", "pa"], ["tag", "sa", "--clear", "--project", "pa"], ["rm", "sa", "--project", "pa", "--yes"],
            ["pull", "sa", "--project", "pa", "--config-dir", Sessions.Cluster.Testing.RepoPaths.TempDir("steal")], ["hold", "sa", "--release", "--project", "pa"],
            ["retention", "preview", "--format", "json"], ["retention", "audit"], ["keys", "list"], ["keys", "revoke", keyIdA], ["keys", "list", "--tenant", tenantA],
            ["tenants", "show", tenantA], ["tenants", "erase", tenantA, "--yes"],
        })
        {
            var (_, output, error) = await server.CliAsync([.. args, "--api-key", keyB]);
            Assert.DoesNotContain(marker, output + error, StringComparison.Ordinal);
            calls++;
        }

        Assert.True(calls > 500, $"only {calls} calls");
        Assert.Equal(before, await SnapshotAsync(a, forkId));
    }

    private static IEnumerable<string> Expand(string pattern, Dictionary<string, string[]> identifiers)
    {
        IEnumerable<string> urls = [pattern];
        foreach (var (name, values) in identifiers)
        {
            var token = "{" + name + "}";
            urls = urls.SelectMany(u => u.Contains(token, StringComparison.Ordinal) ? values.Select(v => u.Replace(token, v, StringComparison.Ordinal)) : [u]);
        }

        return urls.Where(u => !u.Contains('{', StringComparison.Ordinal));
    }

    // Everything of A that B must not change, as seen by A.
    private static async Task<string> SnapshotAsync(HttpClient a, string forkId)
    {
        var parts = new List<string>();
        foreach (var url in new[]
        {
            "v1/projects/pa/sessions/sa/transcript", "v1/projects/pa/sessions/sa/transcript?subpath=subagents/agent-x", $"v1/projects/pa/sessions/{forkId}/transcript",
            "v1/projects/pa/sessions/sa/summary", "v1/projects/pa/store/sessions", "v1/admin/retention", "v1/keys", "v1/admin/retention/audit",
        })
        {
            using var response = await a.GetAsync(url);
            parts.Add($"{url} {(int)response.StatusCode} {Convert.ToHexString(SHA256.HashData(await response.Content.ReadAsByteArrayAsync()))}");
        }

        var (status, _) = await Calls.SendAsync(a, HttpMethod.Put, "v1/projects/pa/sessions/sa/hold", "{\"reason\":\"still held?\"}");
        parts.Add($"hold {(int)status}");
        return string.Join('\n', parts);
    }
}
