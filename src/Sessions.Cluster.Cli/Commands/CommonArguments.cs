using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>Arguments and options several verbs share.</summary>
internal static class CommonArguments
{
    public static Argument<string> SessionId() => new("sessionId") { Description = "Session id" };

    public static Option<string?> Project() => new("--project", "-p") { Description = "Project key (looked up from the session id when omitted)" };

    public static Option<string> ConfigDir(bool required) => new("--config-dir")
    {
        Description = "Claude Code config folder (CLAUDE_CONFIG_DIR) that holds projects/",
        Required = required,
        DefaultValueFactory = required ? null! : _ => Environment.GetEnvironmentVariable("CLAUDE_CONFIG_DIR") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".claude"),
    };
}
