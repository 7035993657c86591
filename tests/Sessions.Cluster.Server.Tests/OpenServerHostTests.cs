using System.Net;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// DNS rebinding against an open (no-key, loopback) server: a page of another site whose name now resolves to
/// 127.0.0.1 sends its own name as <c>Host</c>. Only loopback names are answered.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OpenServerHostTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Theory]
    [Trait("Category", "Auth")]
    [InlineData("rebind.evil.example")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("localhost.evil.example")]
    public async Task AForeignHostName_Is400_OnPagesReadsAndWrites_AndChangesNothing(string host)
    {
        var pk = "host-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries", $"[{Calls.Entry("u1")}]")).Status);
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, "", null), (HttpMethod.Get, $"console/projects/{pk}", null), (HttpMethod.Get, $"v1/projects/{pk}/sessions", null),
            (HttpMethod.Post, $"v1/projects/{pk}/sessions/s/rename", "{\"title\":\"rebound\"}"),
        })
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : Calls.Json(body) };
            request.Headers.Host = $"{host}:{server.BaseUrl.Port}";
            using var response = await server.Http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{method} /{path} with Host {host}: {(int)response.StatusCode}");
        }

        var (_, info) = await Calls.SendAsync(server.Http, HttpMethod.Get, $"v1/projects/{pk}/sessions/s");
        Assert.Null(info!["customTitle"]);
    }

    [Theory]
    [Trait("Category", "Auth")]
    [InlineData("localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("[::1]")]
    public async Task ALoopbackHostName_IsAnswered(string host)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/projects");
        request.Headers.Host = $"{host}:{server.BaseUrl.Port}";
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
