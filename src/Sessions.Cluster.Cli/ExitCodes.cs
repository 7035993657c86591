namespace Sessions.Cluster.Cli;

/// <summary>Exit codes of the <c>sessions</c> CLI.</summary>
public static class ExitCodes
{
    /// <summary>Everything succeeded.</summary>
    public const int Success = 0;

    /// <summary>An unexpected failure.</summary>
    public const int Failure = 1;

    /// <summary>Invalid arguments or input (also System.CommandLine's parse errors).</summary>
    public const int InvalidInput = 2;

    /// <summary>The session, project or file does not exist.</summary>
    public const int NotFound = 3;

    /// <summary>A concurrency conflict, or a local transcript that diverged from the server's.</summary>
    public const int Conflict = 4;

    /// <summary>The server could not be reached or is unavailable.</summary>
    public const int Unavailable = 5;
}
