using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions tag &lt;id&gt; &lt;tag&gt;</c> or <c>--clear</c>: the SDK's tagSession.</summary>
internal static class TagCommand
{
    public static Command Create(CliContext context)
    {
        var id = CommonArguments.SessionId();
        var tag = new Argument<string?>("tag") { Description = "Tag to set", Arity = ArgumentArity.ZeroOrOne };
        var clear = new Option<bool>("--clear") { Description = "Clear the tag" };
        var project = CommonArguments.Project();
        var command = new Command("tag", "Set or clear a session's tag") { id, tag, clear, project };
        command.SetAction((result, ct) => context.RunAsync(async () =>
        {
            var value = result.GetValue(tag);
            if (result.GetValue(clear) == (value is not null))
            {
                throw new CliException(ExitCodes.InvalidInput, "Give either a tag or --clear.");
            }

            using var target = await context.OpenSessionAsync(result, id, project, ct).ConfigureAwait(false);
            var (client, sessionId, projectKey) = (target.Client, target.SessionId, target.ProjectKey);
            await client.TagAsync(projectKey, sessionId, value, ct).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }
}
