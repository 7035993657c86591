using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>Helpers for servers that require API keys.</summary>
public static class Keys
{
    /// <summary>The operator key the keyed fixtures configure.</summary>
    public const string Operator = "test-operator-key-0123456789abcdef-0123456789";

    public static HttpClient Client(Uri baseUrl, string key)
    {
        var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    /// <summary>
    /// The secret part of a tenant key (what must never be logged or answered). Parsed as the server parses keys: the
    /// secret itself may contain '_', so splitting on it could give a single character found in any text.
    /// </summary>
    public static string Secret(string key)
    {
        Assert.True(Core.Tenants.ApiKeys.TryParse(key, out _, out var secret), $"not a tenant key: {key}");
        return secret;
    }

    /// <summary>Creates a tenant (if needed) and issues a key with <paramref name="scopes"/>; returns the plain key.</summary>
    public static async Task<string> IssueAsync(Uri baseUrl, string tenant, params string[] scopes)
    {
        using var op = Client(baseUrl, Operator);
        using (await op.PostAsync("v1/tenants", Calls.Json(new JsonObject { ["tenant"] = tenant }.ToJsonString())))
        {
        }

        using var issued = await op.PostAsync($"v1/tenants/{tenant}/keys", Calls.Json(new JsonObject { ["scopes"] = new JsonArray(scopes.Select(s => (JsonNode)s!).ToArray()) }.ToJsonString()));
        var body = await issued.Content.ReadAsStringAsync();
        Assert.True(issued.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!["key"]!.GetValue<string>();
    }
}

/// <summary>The embedded server with API keys required.</summary>
public sealed class KeyedServerFixture : ServerFixture
{
    protected override IEnumerable<string> ExtraArguments => ["--Sessions:Auth:OperatorKey", Keys.Operator];
}

/// <summary>The three-node cluster with API keys required.</summary>
public sealed class KeyedClusterFixture : ClusterFixture
{
    public override IReadOnlyList<string> NodeArguments() => [.. base.NodeArguments(), "--Sessions:Auth:OperatorKey", Keys.Operator];
}
