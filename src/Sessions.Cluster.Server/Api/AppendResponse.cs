using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// The answer of <c>POST …/entries</c> (Core's <see cref="AppendResult"/>): what was written, the committed length
/// (bytes), the store's mtime (epoch ms), and, when the append carried a summary sidecar, what became of it.
/// </summary>
internal sealed record AppendResponse(int Appended, int Duplicates, long Length, long Mtime, bool Created, long Bytes, AppendResponse.SummaryOutcome? Summary)
{
    /// <summary>From Core's result.</summary>
    public static AppendResponse From(AppendResult r) => new(r.Appended, r.Duplicates, r.Length, r.Mtime, r.Created, r.Bytes,
        r.Summary is not { } s ? null : new SummaryOutcome(s.Stored, s.Version, s.Current is null ? null : SummaryNode(s.Current)));

    /// <summary>A stored sidecar as JSON: <c>{sessionId, mtime, data, version}</c>, its data verbatim.</summary>
    public static JsonObject SummaryNode(SummaryRecord s) => new()
    {
        ["sessionId"] = s.SessionId,
        ["mtime"] = s.Mtime,
        ["data"] = JsonNode.Parse(s.DataJson, documentOptions: EntryLimits.EnvelopeDocumentOptions),
        ["version"] = s.Version,
    };

    /// <summary>The sidecar part of the answer: stored with <c>version</c>, or a conflict with the <c>current</c> sidecar (absent when none).</summary>
    internal sealed record SummaryOutcome(bool Stored, long Version, JsonObject? Current);
}
