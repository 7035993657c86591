using System.CommandLine;
using Sessions.Cluster.Client;
using Sessions.Cluster.Hooks;

// The options of 'sessions hook', read the same way (the same environment variables and defaults).
var url = new Option<string?>("--url") { Description = $"Server URL (env {SessionsClientOptions.UrlVariable}; default {SessionsClientOptions.DefaultUrl})" };
var apiKey = new Option<string?>("--api-key") { Description = $"API key (env {SessionsClientOptions.ApiKeyVariable})" };
var apiKeyEnv = new Option<string?>("--api-key-env") { Description = $"Read the API key from this environment variable (default {SessionsClientOptions.ApiKeyVariable})" };
var tenant = new Option<string?>("--tenant") { Description = $"Tenant (env {SessionsClientOptions.TenantVariable})" };
var timeout = new Option<int>("--timeout-ms") { Description = $"Give up after this many milliseconds (default {HookRun.DefaultTimeoutMs})", DefaultValueFactory = _ => HookRun.DefaultTimeoutMs };
var configDir = new Option<string>("--config-dir")
{
    Description = "Where the hook keeps its log when the payload names no transcript (default CLAUDE_CONFIG_DIR, else ~/.claude); otherwise the transcript's own config folder",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("CLAUDE_CONFIG_DIR") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".claude"),
};
var root = new RootCommand("sessions-hook: the Sessions.Cluster hook for Claude Code (Stop, SubagentStop, PreCompact, SessionEnd). Reads the hook's JSON on stdin and pushes the session's new lines; always exits 0 and prints nothing (see 'sessions hooks status').")
{
    url, apiKey, apiKeyEnv, tenant, timeout, configDir,
};
root.SetAction(async (result, ct) =>
{
    await HookRun.RunAsync(Console.In,
        result.GetValue(url) ?? Environment.GetEnvironmentVariable(SessionsClientOptions.UrlVariable) ?? SessionsClientOptions.DefaultUrl,
        result.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(result.GetValue(apiKeyEnv) ?? SessionsClientOptions.ApiKeyVariable),
        result.GetValue(tenant) ?? Environment.GetEnvironmentVariable(SessionsClientOptions.TenantVariable),
        result.GetValue(timeout), result.GetValue(configDir)!, ct).ConfigureAwait(false);
    return 0;
});

// A command line it cannot read is still never an error Claude Code would show: the run is skipped, exit 0.
var parsed = root.Parse(args);
return parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h") ? 0 : await parsed.InvokeAsync().ConfigureAwait(false);
