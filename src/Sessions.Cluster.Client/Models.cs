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

/// <summary>Answer to an append: entries written, skipped as duplicates, committed length in bytes and store mtime.</summary>
public sealed record AppendResult(int Appended, int Duplicates, long Length, long Mtime, bool Created);

/// <summary>A session message as the SDK's <c>getSessionMessages</c> returns it.</summary>
public sealed record SessionMessage(string Type, string Uuid, JsonNode? Message, string? Timestamp);

/// <summary>One project of the tenant: key, session count, last activity (epoch ms) and the cwd of its most recent session.</summary>
public sealed record ProjectSummary(string ProjectKey, int Sessions, long LastActivity, string? Cwd);
