using System.Text.Json.Nodes;

namespace Sessions.Cluster.Client;

/// <summary>Session metadata, the SDK's <c>SDKSessionInfo</c> shape (times in epoch ms) plus project key and fork parent.</summary>
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

/// <summary>Answer to an append: entries written, skipped as duplicates, committed length in bytes and store mtime.</summary>
public sealed record AppendResult(int Appended, int Duplicates, long Length, long Mtime, bool Created);

/// <summary>A session message as the SDK's <c>getSessionMessages</c> returns it.</summary>
public sealed record SessionMessage(string Type, string Uuid, JsonNode? Message, string? Timestamp);

/// <summary>One project of the tenant: key, session count, last activity (epoch ms) and the cwd of its most recent session.</summary>
public sealed record ProjectSummary(string ProjectKey, int Sessions, long LastActivity, string? Cwd);
