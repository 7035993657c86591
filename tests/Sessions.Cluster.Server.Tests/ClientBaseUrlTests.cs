using System.Net;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The .NET client (and so the CLI's <c>--url</c>) keeps a base URL's path whether or not it ends with a slash
/// (issue 22 §7: <c>http://host/prefix</c> lost <c>/prefix</c>, so a server behind a path prefix was silently missed).
/// </summary>
[Trait("Category", "Unit")]
public sealed class ClientBaseUrlTests
{
    [Theory]
    [Trait("Category", "Unit")]
    [InlineData("http://sessions.test/prefix", "http://sessions.test/prefix/v1/projects/p/sessions/s/transcript")]
    [InlineData("http://sessions.test/prefix/", "http://sessions.test/prefix/v1/projects/p/sessions/s/transcript")]
    [InlineData("http://sessions.test", "http://sessions.test/v1/projects/p/sessions/s/transcript")]
    public async Task ABaseUrlWithOrWithoutItsTrailingSlash_KeepsItsPath(string baseUrl, string requested)
    {
        var handler = new Recording();
        using var client = new SessionsClient(new HttpClient(handler), new SessionsClientOptions { Url = new Uri(baseUrl) }, ownsHttp: true);
        Assert.Null(await client.GetTranscriptAsync("p", "s", null, CancellationToken.None));
        Assert.Equal(requested, handler.Requested?.GetLeftPart(UriPartial.Path));
    }

    private sealed class Recording : HttpMessageHandler
    {
        public Uri? Requested { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requested = request.RequestUri;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("""{"code":"session_not_found","title":"Not found","status":404}""", System.Text.Encoding.UTF8, "application/problem+json") });
        }
    }
}
