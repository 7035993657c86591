using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using Sessions.Cluster.Client;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Hooks;
using Sessions.Cluster.Server.Console;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions resume &lt;id&gt;</c> and <c>sessions continue</c>: bring a session from the server into the project
/// folder Claude Code looks in for the current directory (<c>$CLAUDE_CONFIG_DIR/projects/&lt;the directory with every
/// character outside [A-Za-z0-9] as '-'&gt;</c>, the SDK's rule, <see cref="ProjectKeys.FromCwd"/>), with its subagent
/// transcripts and its last activity as the file's mtime, then run <c>claude --resume &lt;id&gt;</c> there. The session
/// keeps its project on the server: the hooks push what this machine adds back into it.
/// </summary>
internal static class ResumeCommand
{
    public static Command CreateResume(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var command = new Command("resume", "Pull a session into this directory's Claude Code project (from any project of the tenant) and run 'claude --resume' on it") { id, project };
        var common = Add(command);
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var sessionId = result.GetValue(id)!;
            var projectKey = await CliContext.ResolveProjectAsync(client, sessionId, result.GetValue(project), ct).ConfigureAwait(false);
            return await ResumeAsync(context, result, common, client, projectKey, sessionId, ct).ConfigureAwait(false);
        }));
        return command;
    }

    public static Command CreateContinue(CliContext context)
    {
        var project = new Option<string?>("--project", "-p") { Description = "The server's project key (default: this directory's, as Claude Code names it)" };
        var command = new Command("continue", "Pull the latest session of this directory's project and run 'claude --resume' on it") { project };
        var common = Add(command);
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var projectKey = result.GetValue(project) ?? ProjectKeys.FromCwd(Path.GetFullPath(result.GetValue(common.Cwd)!));
            Sessions.Cluster.Client.SessionInfo latest;
            try
            {
                latest = await client.GetLatestAsync(projectKey, ct).ConfigureAwait(false);
            }
            catch (SessionsApiException ex) when (ex.Status == 404)
            {
                throw new CliException(ExitCodes.NotFound, $"Project '{projectKey}' has no session on the server. 'sessions projects' lists the projects; pass one with --project.");
            }

            return await ResumeAsync(context, result, common, client, projectKey, latest.SessionId, ct).ConfigureAwait(false);
        }));
        return command;
    }

    private sealed record Common(Option<string> ConfigDir, Option<string> Cwd, Option<bool> Force, Option<bool> PrintOnly);

    private static Common Add(Command command)
    {
        var common = new Common(
            CommonArguments.ConfigDir(required: false),
            new Option<string>("--cwd") { Description = "The directory Claude Code runs in (default: the current one)", DefaultValueFactory = _ => Environment.CurrentDirectory },
            new Option<bool>("--force") { Description = "Overwrite local files that hold lines the server lacks; each is first copied to <file>.bak-<utc time>" },
            new Option<bool>("--print-only") { Description = "Pull, then print the claude command instead of running it" });
        command.Add(common.ConfigDir);
        command.Add(common.Cwd);
        command.Add(common.Force);
        command.Add(common.PrintOnly);
        return common;
    }

    private static async Task<int> ResumeAsync(CliContext context, ParseResult result, Common common, SessionsClient client, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        var configDir = Path.GetFullPath(result.GetValue(common.ConfigDir)!);
        var cwd = Path.GetFullPath(result.GetValue(common.Cwd)!);
        if (!Directory.Exists(cwd))
        {
            throw new CliException(ExitCodes.InvalidInput, $"--cwd {cwd} is not a directory.");
        }

        var localProjectKey = ProjectKeys.FromCwd(cwd);
        var (files, backups) = await TranscriptPull.PullAsync(client, projectKey, sessionId, configDir, result.GetValue(common.Force), cancellationToken, localProjectKey).ConfigureAwait(false);
        await HookSync.RecordPullAsync(configDir, localProjectKey, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        var defaultConfig = Environment.GetEnvironmentVariable("CLAUDE_CONFIG_DIR") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".claude");
        var sameConfig = Path.GetFullPath(defaultConfig) == configDir;
        var shown = $"cd {ShellQuote.Posix(cwd)} && {(sameConfig ? "" : $"CLAUDE_CONFIG_DIR={ShellQuote.Posix(configDir)} ")}claude --resume {sessionId}";
        if (context.IsJson(result))
        {
            context.WriteJson(new { sessionId, projectKey, localProjectKey, files, backups, command = shown });
        }
        else
        {
            context.Out.WriteLine($"Session {sessionId} (project {projectKey} on the server) is in {Path.Combine(configDir, "projects", localProjectKey)} ({files.Count} file{(files.Count == 1 ? "" : "s")}).");
            backups.ForEach(b => context.Out.WriteLine($"  kept the replaced local file as {b}"));
        }

        if (result.GetValue(common.PrintOnly))
        {
            if (!context.IsJson(result))
            {
                context.Out.WriteLine(shown);
            }

            return ExitCodes.Success;
        }

        var start = new ProcessStartInfo("claude") { WorkingDirectory = cwd, UseShellExecute = false };
        start.ArgumentList.Add("--resume");
        start.ArgumentList.Add(sessionId);
        start.Environment["CLAUDE_CONFIG_DIR"] = configDir;
        try
        {
            using var claude = Process.Start(start)!;
            await claude.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return claude.ExitCode;
        }
        catch (Win32Exception)
        {
            throw new CliException(ExitCodes.NotFound, $"'claude' is not on PATH (install Claude Code: npm install -g @anthropic-ai/claude-code). The session is in place; run: {shown}");
        }
    }
}
