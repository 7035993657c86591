using System.Text.Json.Nodes;

using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// Runs the real @anthropic-ai/claude-agent-sdk (pinned in tests/sdk-oracle/package-lock.json) on a CLAUDE_CONFIG_DIR
/// and returns its answers as JSON.
/// </summary>
internal static class SdkOracle
{
    /// <summary>
    /// The SDK version every answer is compared with (tests/sdk-oracle, the adapter's development dependency and the
    /// benchmark peers pin it).
    /// </summary>
    public const string PinnedVersion = "0.3.337";

    /// <summary>The SDK's listSessions() over every project of <paramref name="configDir"/>.</summary>
    public static async Task<JsonArray> ListSessionsAsync(string configDir) => (JsonArray)JsonNode.Parse(await RunAsync(configDir, "list").ConfigureAwait(false))!;

    /// <summary>The SDK's info, messages, subagents and forks of every session of <paramref name="configDir"/>.</summary>
    public static async Task<JsonObject> DumpAsync(string configDir) => (JsonObject)JsonNode.Parse(await RunAsync(configDir, "dump").ConfigureAwait(false))!;

    /// <summary>The SDK's getSessionMessages of one session, found as from <paramref name="cwd"/> (the SDK's <c>dir</c>).</summary>
    public static async Task<JsonArray> MessagesAsync(string configDir, string sessionId, string cwd) =>
        (JsonArray)JsonNode.Parse(await RunAsync(configDir, "messages", sessionId, cwd).ConfigureAwait(false))!;

    /// <summary>
    /// The SDK's renameSession and tagSession on a session of <paramref name="configDir"/>, then its forkSession with the
    /// title: the text the SDK appended to the session's file, the fork's id and the fork file's text.
    /// </summary>
    public static async Task<JsonObject> WriteAsync(string configDir, string sessionId, string title, string tag) =>
        (JsonObject)JsonNode.Parse(await RunAsync(configDir, "write", sessionId, title, tag).ConfigureAwait(false))!;

    /// <summary>
    /// What the SDK's <c>InMemorySessionStore</c> loads after each case's batches are appended to one session, in order.
    /// </summary>
    public static async Task<JsonArray> InMemoryLoadsAsync(JsonArray cases)
    {
        await NodeTools.EnsureInstalledAsync(RepoPaths.OracleDir, "node_modules/@anthropic-ai/claude-agent-sdk/package.json").ConfigureAwait(false);
        var file = Path.Combine(RepoPaths.TempDir("in-memory-store"), "cases.json");
        await File.WriteAllTextAsync(file, cases.ToJsonString()).ConfigureAwait(false);
        var (code, stdout, stderr) = await NodeTools.RunSplitAsync("node", RepoPaths.OracleDir, null, ["in-memory-store.mjs", file]).ConfigureAwait(false);
        return code == 0 ? (JsonArray)JsonNode.Parse(stdout)! : throw new InvalidOperationException($"The InMemorySessionStore oracle failed ({code}): {stderr}");
    }

    private static async Task<string> RunAsync(string configDir, params string[] command)
    {
        await NodeTools.EnsureInstalledAsync(RepoPaths.OracleDir, "node_modules/@anthropic-ai/claude-agent-sdk/package.json").ConfigureAwait(false);
        var (code, stdout, stderr) = await NodeTools.RunSplitAsync("node", RepoPaths.OracleDir, new Dictionary<string, string> { ["CLAUDE_CONFIG_DIR"] = configDir }, ["oracle.mjs", .. command]).ConfigureAwait(false);
        return code == 0 ? stdout : throw new InvalidOperationException($"The SDK oracle failed ({code}): {stderr}");
    }
}
