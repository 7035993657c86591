using System.CommandLine;
using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions latest [--project P | --cwd DIR]</c>: the project's most recent session ("continue"); <c>--cwd</c> derives
/// the project key exactly as Claude Code does (default: the current directory).
/// </summary>
internal static class LatestCommand
{
    public static Command Create(CliContext context)
    {
        var project = new Option<string?>("--project", "-p") { Description = "Project key" };
        var cwd = new Option<string?>("--cwd") { Description = "A working directory: its project key as Claude Code derives it (default: the current directory)" };
        var command = new Command("latest", "Show the most recent session of a project (what claude --continue resumes)") { project, cwd };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            if (result.GetValue(project) is not null && result.GetValue(cwd) is not null)
            {
                throw new CliException(ExitCodes.InvalidInput, "Pass --project or --cwd, not both.");
            }

            var projectKey = result.GetValue(project) ?? ProjectKeys.FromCwd(Path.GetFullPath(result.GetValue(cwd) ?? Environment.CurrentDirectory));
            using var client = context.CreateClient(result);
            var info = await client.GetLatestAsync(projectKey, ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(info);
            }
            else
            {
                context.WriteSessions([info]);
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
