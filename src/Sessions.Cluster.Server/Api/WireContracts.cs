using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Storage;
using Wire = Sessions.Cluster.Client;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// Core's answers as the HTTP API's contract, which is the .NET client's own records (<see cref="Wire.SessionInfo"/>,
/// <see cref="Wire.AppendResult"/>): one shape per answer, written by the server and read by the client.
/// </summary>
internal static class WireContracts
{
    /// <summary>A catalog row as the SDK's <c>SDKSessionInfo</c> plus project key and fork parent.</summary>
    public static Wire.SessionInfo Info(SessionRecord r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.SessionId, r.Summary ?? "", r.Mtime, r.Size, r.CustomTitle, r.FirstPrompt, r.GitBranch, r.Cwd, r.Tag, r.CreatedAt, r.ProjectKey, r.ParentSessionId);
    }

    /// <summary>A session found by content search, with its best matching messages.</summary>
    public static Wire.SearchResult Found(Core.Search.SearchHit hit)
    {
        ArgumentNullException.ThrowIfNull(hit);
        return new(Info(hit.Session), hit.Rank, [.. hit.Messages.Select(m => new Wire.MessageHit(m.Uuid, m.Role, m.Timestamp, m.Snippet))]);
    }

    /// <summary>The answer of <c>POST …/entries</c>.</summary>
    public static Wire.AppendResult Append(AppendResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new(r.Appended, r.Duplicates, r.Length, r.Mtime, r.Created, r.Bytes,
            r.Summary is not { } s ? null : new Wire.SummaryOutcome(s.Stored, s.Version, s.Current is null ? null : SummaryNode(s.Current)));
    }

    /// <summary>A stored sidecar as JSON: <c>{sessionId, mtime, data, version}</c>, its data verbatim.</summary>
    public static JsonObject SummaryNode(SummaryRecord s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new()
        {
            ["sessionId"] = s.SessionId,
            ["mtime"] = s.Mtime,
            ["data"] = JsonNode.Parse(s.DataJson, documentOptions: EntryLimits.EnvelopeDocumentOptions),
            ["version"] = s.Version,
        };
    }
}
