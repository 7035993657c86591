using System.CommandLine;
using System.Globalization;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions projects</c>: the tenant's project keys with session counts, last activity and cwd.</summary>
internal static class ProjectsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("projects", "List the tenant's projects: project key, sessions, last activity (UTC), cwd of the most recent session");
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var projects = await client.ListProjectsAsync(ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(projects);
                return ExitCodes.Success;
            }

            context.WriteTable(["Project", "Sessions", "Last activity (UTC)", "Cwd"], projects.Select(p => new[]
            {
                p.ProjectKey, p.Sessions.ToString(CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(p.LastActivity).ToString("u", CultureInfo.InvariantCulture), p.Cwd ?? "",
            }));
            return ExitCodes.Success;
        }));
        return command;
    }
}
