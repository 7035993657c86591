using System.CommandLine;
using Sessions.Cluster.Cli.Commands;

namespace Sessions.Cluster.Cli;

/// <summary>The <c>sessions</c> command line: builds the verbs and runs one.</summary>
public static class SessionsCli
{
    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code (<see cref="ExitCodes"/>).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, TextReader? input = null)
    {
        using var context = new CliContext(output ?? Console.Out, error ?? Console.Error, input);
        var root = new RootCommand(
            "Sessions.Cluster: store, resume, fork and search Claude Code / Agent SDK sessions.\n\n" +
            $"Exit codes: {ExitCodes.Success} success, {ExitCodes.Failure} unexpected failure, {ExitCodes.InvalidInput} invalid arguments or input, " +
            $"{ExitCodes.NotFound} not found, {ExitCodes.Conflict} conflict (diverged transcript, local work a pull would overwrite), " +
            $"{ExitCodes.Unavailable} server unreachable or unavailable.");
        foreach (var option in context.GlobalOptions)
        {
            root.Add(option);
        }

        root.Add(ServeCommand.Create());
        root.Add(ImportCommand.Create(context));
        root.Add(ProjectsCommand.Create(context));
        root.Add(ListCommand.Create(context));
        root.Add(LatestCommand.Create(context));
        root.Add(SearchCommand.Create(context));
        root.Add(ShowCommand.Create(context));
        root.Add(MessagesCommand.Create(context));
        root.Add(SubagentsCommand.Create(context));
        root.Add(ForkCommand.Create(context));
        root.Add(RenameCommand.Create(context));
        root.Add(TagCommand.Create(context));
        root.Add(RemoveCommand.Create(context));
        root.Add(PullCommand.Create(context));
        root.Add(PushCommand.Create(context));
        root.Add(ResumeCommand.CreateResume(context));
        root.Add(ResumeCommand.CreateContinue(context));
        root.Add(HookCommand.Create(context));
        root.Add(HooksCommand.Create(context));
        root.Add(HoldCommand.Create(context));
        root.Add(RetentionCommand.Create(context));
        root.Add(TrashCommand.Create(context));
        root.Add(TenantsCommand.Create(context));
        root.Add(KeysCommand.Create(context));
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var parseError in parsed.Errors)
            {
                await context.Error.WriteLineAsync($"error: {parseError.Message}").ConfigureAwait(false);
            }

            await context.Error.WriteLineAsync("Run 'sessions --help' (or '<verb> --help') for usage.").ConfigureAwait(false);
            return ExitCodes.InvalidInput;
        }

        // No forced exit 2 s after SIGTERM (System.CommandLine's default): 'serve' stops as the host does, within
        // Sessions:ShutdownTimeout (its watchdog ends a stop that hangs), so the silo deactivates its grains and the
        // transcript journal checkpoints; other verbs end with their cancelled token as before.
        var config = new InvocationConfiguration { Output = context.Out, Error = context.Error, ProcessTerminationTimeout = null };
        return await parsed.InvokeAsync(config).ConfigureAwait(false);
    }
}
