using System.CommandLine;
using Sessions.Cluster.Client;
using Sessions.Cluster.Hooks;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions hook</c>: what Claude Code runs on <c>Stop</c>, <c>SubagentStop</c>, <c>PreCompact</c> and
/// <c>SessionEnd</c> (installed by <c>sessions hooks install</c>): <see cref="HookRun"/>, which always exits 0 and prints
/// nothing. The native <c>sessions-hook</c> program runs the same code without the .NET runtime's start-up.
/// </summary>
internal static class HookCommand
{
    public static Command Create(CliContext context)
    {
        var timeout = new Option<int>("--timeout-ms") { Description = $"Give up after this many milliseconds (default {HookRun.DefaultTimeoutMs})", DefaultValueFactory = _ => HookRun.DefaultTimeoutMs };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = $"Read the API key from this environment variable (default {SessionsClientOptions.ApiKeyVariable})" };
        var configDir = CommonArguments.ConfigDir(required: false);
        configDir.Description = "Where the hook keeps its log when the payload names no transcript (default CLAUDE_CONFIG_DIR, else ~/.claude); otherwise the transcript's own config folder";
        var command = new Command("hook", "Run as a Claude Code hook: read the hook's JSON on stdin, push the session's new lines; always exits 0 and prints nothing") { timeout, apiKeyEnv, configDir };
        command.SetAction(async (result, ct) =>
        {
            await HookRun.RunAsync(context.In,
                result.GetValue(context.Url) ?? Environment.GetEnvironmentVariable(SessionsClientOptions.UrlVariable) ?? SessionsClientOptions.DefaultUrl,
                result.GetValue(context.ApiKey) ?? Environment.GetEnvironmentVariable(result.GetValue(apiKeyEnv) ?? SessionsClientOptions.ApiKeyVariable),
                result.GetValue(context.Tenant) ?? Environment.GetEnvironmentVariable(SessionsClientOptions.TenantVariable),
                result.GetValue(timeout), result.GetValue(configDir)!, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
