using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions hold &lt;id&gt; [--reason r]</c> / <c>--release</c>: exempt a session from retention, or stop doing so.</summary>
internal static class HoldCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var project = CommonArguments.Project();
        var reason = new Option<string?>("--reason") { Description = "Why it is held (e.g. a legal matter)" };
        var release = new Option<bool>("--release") { Description = "Release the hold instead" };
        var command = new Command("hold", "Place or release a retention hold on a session") { id, project, reason, release };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            await target.Client.SetHoldAsync(target.ProjectKey, target.SessionId, !result.GetValue(release), result.GetValue(reason), ct).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
