using System.Buffers;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Answers a list of transcript-derived JSON objects the way the SDK's <c>JSON.stringify</c> writes them (raw UTF-8,
/// key order kept, lone surrogates escaped), so messages equal the SDK's and no stored string can fail the answer.
/// </summary>
internal sealed class JsJsonResult(IEnumerable<JsonNode> items) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        JsJson.Write(new JsonArray([.. items.Select(i => i.Parent is null ? i : i.DeepClone())]), buffer);
        httpContext.Response.ContentType = "application/json; charset=utf-8";
        httpContext.Response.ContentLength = buffer.WrittenCount;
        await httpContext.Response.Body.WriteAsync(buffer.WrittenMemory, httpContext.RequestAborted).ConfigureAwait(false);
    }
}
