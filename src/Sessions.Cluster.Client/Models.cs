using System.Text.Json.Nodes;

namespace Sessions.Cluster.Client;

/// <summary>
/// Session metadata, the SDK's <c>SDKSessionInfo</c> shape (times in epoch ms) plus project key and fork parent: what
/// every endpoint answering a session's info writes (the server writes this very type).
/// </summary>
public sealed record SessionInfo(
    string SessionId,
    string Summary,
    long LastModified,
    long FileSize,
    string? CustomTitle,
    string? FirstPrompt,
    string? GitBranch,
    string? Cwd,
    string? Tag,
    long? CreatedAt,
    string ProjectKey,
    string? ForkedFrom);

/// <summary>One page of sessions.</summary>
public sealed record SessionList(List<SessionInfo> Sessions, string? NextCursor);

/// <summary>A page of content search results (<c>GET /v1/search</c>), most relevant first.</summary>
public sealed record SearchResults(List<SearchResult> Results, string? NextCursor);

/// <summary>A session whose messages matched, with its best matching messages (at most three).</summary>
public sealed record SearchResult(SessionInfo Session, double Rank, List<MessageHit> Messages);

/// <summary>A matching message: its uuid, role, timestamp (epoch ms) and a snippet with each matched word as <c>**word**</c>.</summary>
public sealed record MessageHit(string Uuid, string Role, long? Timestamp, string Snippet);

/// <summary>
/// Answer to an append (<c>POST …/entries</c>): entries written, entries skipped as duplicates, the committed length
/// in bytes, the store's mtime (epoch ms), whether the append created the transcript, the bytes written, and, when the
/// append carried a summary sidecar, what became of it. The server writes this very type.
/// </summary>
public sealed record AppendResult(int Appended, int Duplicates, long Length, long Mtime, bool Created, long Bytes = 0, SummaryOutcome? Summary = null);

/// <summary>
/// What became of an append's summary sidecar: stored with <paramref name="Version"/>, or a conflict with the
/// <paramref name="Current"/> sidecar (<c>{sessionId, mtime, data, version}</c>; absent when the caller must fold from nothing).
/// </summary>
public sealed record SummaryOutcome(bool Stored, long Version, JsonObject? Current);

/// <summary>A session message as the SDK's <c>getSessionMessages</c> returns it.</summary>
public sealed record SessionMessage(string Type, string Uuid, JsonNode? Message, string? Timestamp);

/// <summary>One project of the tenant: key, session count, last activity (epoch ms) and the cwd of its most recent session.</summary>
public sealed record ProjectSummary(string ProjectKey, int Sessions, long LastActivity, string? Cwd);
