using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>The OpenAPI document describes every route well enough to generate a client from it.</summary>
[Trait("Category", "Integration")]
public sealed partial class OpenApiDocumentTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    // Routes that take no body although they are POST or PUT.
    private static readonly HashSet<string> Bodiless = ["post /v1/admin/reindex", "post /v1/admin/retention/sweep", "post /v1/trash/{projectKey}/{sessionId}/restore"];

    [Fact]
    public async Task ApiReference_IsServedByTheServer_UnderItsOwnPolicy_ItsScriptsOnlyWithTheViewsNonce()
    {
        using var page = await server.Http.GetAsync("api/");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal(System.Net.HttpStatusCode.OK, page.StatusCode);
        var policy = string.Join(",", page.Headers.GetValues("Content-Security-Policy"));
        var nonce = Regex.Match(policy, "'nonce-([^']+)'").Groups[1].Value;
        Assert.True(nonce.Length >= 16, policy);
        // Every script tag carries that nonce, and every one is the server's own (a relative address, no CDN).
        var scripts = Regex.Matches(html, "<script([^>]*)>").Select(m => m.Groups[1].Value).ToList();
        Assert.True(scripts.Count >= 2, html);
        Assert.All(scripts, s => Assert.Contains($"nonce=\"{nonce}\"", s, StringComparison.Ordinal));
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
        using var again = await server.Http.GetAsync("api/");
        Assert.DoesNotContain($"'nonce-{nonce}'", string.Join(",", again.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);

        using var script = await server.Http.GetAsync("api/scalar.js");
        Assert.Equal(System.Net.HttpStatusCode.OK, script.StatusCode);
        Assert.Contains("'nonce-none'", string.Join(",", script.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryRoute_HasItsRequestBody_ProblemAnswers_AndReadableSchemaNames()
    {
        var document = JsonNode.Parse(await server.Http.GetStringAsync("openapi/v1.json"))!;
        var operations = 0;
        foreach (var (path, item) in (JsonObject)document["paths"]!)
        {
            foreach (var (method, operation) in (JsonObject)item!)
            {
                if (method is "parameters" or "summary" or "description")
                {
                    continue;
                }

                operations++;
                var name = $"{method} {path}";
                if (method is "post" or "put" && !Bodiless.Contains(name))
                {
                    Assert.True(operation!["requestBody"]?["content"]?["application/json"]?["schema"] is not null, $"{name} has no request body");
                }

                var responses = (JsonObject)operation!["responses"]!;
                foreach (var status in new[] { "400", "404", "413", "429", "503" })
                {
                    var schema = responses[status]?["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>();
                    Assert.True(schema == "#/components/schemas/Problem", $"{name} does not document its {status} problem");
                }
            }
        }

        Assert.True(operations > 40, $"only {operations} operations");
        var schemas = (JsonObject)document["components"]!["schemas"]!;
        Assert.DoesNotContain(schemas, s => s.Key.Contains("Anonymous", StringComparison.Ordinal));
        var codes = ((JsonArray)schemas["Problem"]!["properties"]!["code"]!["enum"]!).Select(c => c!.GetValue<string>()).ToHashSet();

        // Every code the source throws is documented.
        var thrown = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => ThrownCode().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .ToHashSet();
        Assert.NotEmpty(thrown);
        Assert.Empty(thrown.Except(codes));
    }

    [Fact]
    public async Task DocumentedBodies_DoNotMakeRoutingRefuseOtherContentTypes()
    {
        // curl -d sends application/x-www-form-urlencoded, many clients text/plain: the body is still JSON to us.
        await Calls.SendAsync(server.Http, HttpMethod.Post, "v1/projects/ct/sessions/s/entries", $"[{Calls.Entry("ct1")}]");
        using var rename = await server.Http.PostAsync("v1/projects/ct/sessions/s/rename", new StringContent("{\"title\":\"plain\"}"));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, rename.StatusCode);
        using var append = await server.Http.PostAsync("v1/projects/ct/sessions/s/entries", new StringContent($"[{Calls.Entry("ct2")}]", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(System.Net.HttpStatusCode.OK, append.StatusCode);
    }

    [GeneratedRegex(@"(?:Exception\(|\(StatusCodes\.Status\d+\w*, |""code""\] = )""([a-z]+_[a-z_]+)""")]
    private static partial Regex ThrownCode();
}
