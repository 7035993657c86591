using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions show &lt;id&gt;</c>: one session's info (the SDK's getSessionInfo).</summary>
internal static class ShowCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var command = new Command("show", "Show one session's info") { id, project };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            var info = await client.GetInfoAsync(projectKey, sessionId, ct).ConfigureAwait(false);
            if (context.IsJson(result))
            {
                context.WriteJson(info);
                return ExitCodes.Success;
            }

            context.Out.WriteLine($"Session:       {info.SessionId}");
            context.Out.WriteLine($"Project:       {info.ProjectKey}");
            context.Out.WriteLine($"Summary:       {info.Summary}");
            context.Out.WriteLine($"Title:         {info.CustomTitle}");
            context.Out.WriteLine($"First prompt:  {info.FirstPrompt}");
            context.Out.WriteLine($"Tag:           {info.Tag}");
            context.Out.WriteLine($"Cwd:           {info.Cwd}");
            context.Out.WriteLine($"Git branch:    {info.GitBranch}");
            context.Out.WriteLine($"Created:       {(info.CreatedAt is { } c ? DateTimeOffset.FromUnixTimeMilliseconds(c).ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "")}");
            context.Out.WriteLine($"Modified:      {DateTimeOffset.FromUnixTimeMilliseconds(info.LastModified).ToString("u", System.Globalization.CultureInfo.InvariantCulture)}");
            context.Out.WriteLine($"Size:          {info.FileSize} bytes");
            if (info.ForkedFrom is not null)
            {
                context.Out.WriteLine($"Forked from:   {info.ForkedFrom}");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
