using System.CommandLine;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Sessions.Cluster.Cli.Hooks;
using Sessions.Cluster.Hooks;
using Sessions.Cluster.Server.Console;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions hooks install|uninstall|status</c>: our Claude Code hooks (<see cref="ClaudeSettings"/>) in the user's
/// settings (<c>$CLAUDE_CONFIG_DIR/settings.json</c>, else <c>~/.claude/settings.json</c>) or the project's
/// (<c>.claude/settings.json</c> of the current folder), or in a file named with <c>--settings</c>.
/// </summary>
internal static partial class HooksCommand
{
    public static Command Create(CliContext context)
    {
        var hooks = new Command("hooks", "Install, remove or show the Claude Code hooks that push every session to the server as Claude Code writes it");
        hooks.Add(Install(context));
        hooks.Add(Uninstall(context));
        hooks.Add(Status(context));
        return hooks;
    }

    private static Option<string> Scope() => new Option<string>("--scope")
    {
        Description = "user: $CLAUDE_CONFIG_DIR/settings.json (else ~/.claude/settings.json); project: .claude/settings.json in the current folder",
        DefaultValueFactory = _ => "user",
    }.AcceptOnlyFromAmong("user", "project");

    private static Option<string?> SettingsFile() => new("--settings") { Description = "Change this settings.json instead of the scope's" };

    private static string ConfigDir() =>
        Environment.GetEnvironmentVariable("CLAUDE_CONFIG_DIR") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".claude");

    private static string PathOf(string scope, string? settings) =>
        Path.GetFullPath(settings ?? (scope == "project" ? Path.Combine(".claude", "settings.json") : Path.Combine(ConfigDir(), "settings.json")));

    private static Command Install(CliContext context)
    {
        var scope = Scope();
        var settings = SettingsFile();
        var program = new Option<string?>("--command") { Description = "How the hooks start the sessions program, in shell syntax (default: the native sessions-hook beside this program or on PATH, else this program's own path)" };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "The environment variable the hooks read the API key from (default SESSIONS_API_KEY); a key itself is never written" };
        var timeout = new Option<int?>("--timeout-ms") { Description = $"Each hook's own time budget (default {HookRun.DefaultTimeoutMs})" };
        var command = new Command("install", "Add our hooks (Stop, SubagentStop, PreCompact, SessionEnd) to Claude Code's settings, keeping everything else; the file is backed up first")
        {
            scope, settings, program, apiKeyEnv, timeout,
        };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            if (result.GetValue(context.ApiKey) is not null)
            {
                throw new CliException(ExitCodes.InvalidInput, "An API key is never written into settings.json: put it in an environment variable and pass its name with --api-key-env.");
            }

            if (result.GetValue(apiKeyEnv) is { } variable && !EnvironmentName().IsMatch(variable))
            {
                throw new CliException(ExitCodes.InvalidInput, $"--api-key-env '{variable}' is not an environment variable name (letters, digits, '_').");
            }

            // The native sessions-hook takes the same options as 'sessions hook' and starts ~15× faster.
            var parts = result.GetValue(program) is { } given ? [given, "hook"] : NativeHook() is { } native ? [ShellQuote.Posix(native)] : new List<string> { ThisProgram(), "hook" };
            if (result.GetValue(context.Url) is { } url)
            {
                parts.AddRange(["--url", ShellQuote.Posix(url)]);
            }

            if (result.GetValue(context.Tenant) is { } tenant)
            {
                parts.AddRange(["--tenant", ShellQuote.Posix(tenant)]);
            }

            if (result.GetValue(apiKeyEnv) is { } name)
            {
                parts.AddRange(["--api-key-env", name]);
            }

            if (result.GetValue(timeout) is { } ms)
            {
                parts.AddRange(["--timeout-ms", ms.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }

            var path = PathOf(result.GetValue(scope)!, result.GetValue(settings));
            var hookCommand = string.Join(' ', parts);
            var (changed, backup) = await ClaudeSettings.InstallAsync(path, hookCommand, ct).ConfigureAwait(false);
            context.Out.WriteLine(changed
                ? $"Installed the sessions hooks in {path}{(backup is null ? "" : $" (the previous file is kept as {backup})")}: {string.Join(", ", HookPayload.SyncEvents)} run '{hookCommand}'."
                : $"The sessions hooks are already installed in {path}, unchanged.");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Uninstall(CliContext context)
    {
        var scope = Scope();
        var settings = SettingsFile();
        var command = new Command("uninstall", "Remove exactly our hooks from Claude Code's settings (the file is backed up first)") { scope, settings };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            var path = PathOf(result.GetValue(scope)!, result.GetValue(settings));
            var (changed, backup) = await ClaudeSettings.UninstallAsync(path, ct).ConfigureAwait(false);
            context.Out.WriteLine(changed
                ? $"Removed the sessions hooks from {path} (the previous file is kept as {backup})."
                : $"No sessions hooks in {path}: nothing changed.");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Status(CliContext context)
    {
        var settings = SettingsFile();
        var configDir = CommonArguments.ConfigDir(required: false);
        var command = new Command("status", "Show where our hooks are installed and what the last hook run did") { settings, configDir };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            var files = result.GetValue(settings) is { } one ? [Path.GetFullPath(one)] : new[] { PathOf("user", null), PathOf("project", null) }.Distinct().ToArray();
            var installed = new List<(string File, IReadOnlyList<(string Event, string Command)> Hooks)>();
            foreach (var file in files)
            {
                installed.Add((file, await ClaudeSettings.InstalledAsync(file, ct).ConfigureAwait(false)));
            }

            var statusFile = Path.Combine(HookSync.StateDir(result.GetValue(configDir)!), "hooks-status.json");
            JsonNode? last = null;
            try
            {
                last = File.Exists(statusFile) ? JsonNode.Parse(await File.ReadAllTextAsync(statusFile, ct).ConfigureAwait(false)) : null;
            }
            catch (System.Text.Json.JsonException)
            {
                last = new JsonObject { ["outcome"] = "unknown", ["message"] = $"{statusFile} is not readable JSON" };
            }
            if (context.IsJson(result))
            {
                context.WriteJson(new
                {
                    settings = installed.Select(i => new { file = i.File, events = i.Hooks.Select(h => h.Event), commands = i.Hooks.Select(h => h.Command).Distinct() }),
                    lastRun = last,
                });
                return ExitCodes.Success;
            }

            foreach (var (file, hooks) in installed)
            {
                context.Out.WriteLine(hooks.Count == 0
                    ? $"{file}: not installed"
                    : $"{file}: installed for {string.Join(", ", hooks.Select(h => h.Event))}: '{hooks[0].Command}'");
            }

            context.Out.WriteLine(last is null
                ? "Last hook run: none yet."
                : $"Last hook run: {last["at"]} {last["event"]} session {last["sessionId"]}: {last["outcome"]}" +
                  (last["appended"] is { } n ? $", {n} entries pushed" : "") + (last["message"] is { } m ? $" ({m})" : ""));
            return ExitCodes.Success;
        }));
        return command;
    }

    // This program as a shell command: the installed tool's own path, or 'dotnet <sessions.dll>' when run that way.
    // sessions-hook (src/Sessions.Cluster.Hook published ahead of time) in this program's folder, else on PATH.
    private static string? NativeHook()
    {
        var folders = new[] { Path.GetDirectoryName(Environment.ProcessPath) }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        return folders.OfType<string>().Where(Path.IsPathFullyQualified).Select(f => Path.Combine(f, "sessions-hook"))
            .FirstOrDefault(f => !OperatingSystem.IsWindows() && File.Exists(f) && (File.GetUnixFileMode(f) & UnixFileMode.UserExecute) != 0);
    }

    private static string ThisProgram()
    {
        var process = Environment.ProcessPath;
        var name = Path.GetFileNameWithoutExtension(process);
        if (name == "sessions")
        {
            return ShellQuote.Posix(process!);
        }

        return name == "dotnet" && typeof(SessionsCli).Assembly.Location is { Length: > 0 } dll ? $"dotnet {ShellQuote.Posix(dll)}" : "sessions";
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvironmentName();
}
