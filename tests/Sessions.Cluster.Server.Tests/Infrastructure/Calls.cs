using System.Net;
using System.Text;
using System.Text.Json.Nodes;

using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>Small HTTP helpers for API tests.</summary>
internal static class Calls
{
    public static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    public static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = Json(body);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = Sessions.Cluster.Core.Storage.EntryLimits.MaxEnvelopeDepth }));
    }

    /// <summary>Asserts a 4xx problem-details answer with a code.</summary>
    public static void AssertProblem((HttpStatusCode Status, JsonNode? Body) answer, int status, string? code = null)
    {
        Assert.True((int)answer.Status == status, $"expected {status}, got {(int)answer.Status}: {answer.Body?.ToJsonString()}");
        Assert.NotNull(answer.Body);
        Assert.False(string.IsNullOrEmpty(answer.Body!["detail"]?.GetValue<string>()), "the problem has no detail");
        if (code is not null)
        {
            Assert.Equal(code, answer.Body!["code"]?.GetValue<string>());
        }
    }

    public static string Entry(string uuid, string type = "user", string? text = null) =>
        new JsonObject { ["type"] = type, ["uuid"] = uuid, ["message"] = new JsonObject { ["role"] = type, ["content"] = text ?? $"text of {uuid}" } }.ToJsonString();
}
