using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions subagents ID</c>: the subagent ids of a session (the SDK's listSubagents).</summary>
internal static class SubagentsCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var command = new Command("subagents", "List a session's subagents (read one with: sessions messages ID --agent AGENT)") { id, project };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var agents = await target.Client.ListSubagentsAsync(target.ProjectKey, target.SessionId, ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(agents);
            }
            else
            {
                agents.ForEach(context.Out.WriteLine);
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
