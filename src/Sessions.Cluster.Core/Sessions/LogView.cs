namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// A consistent view of one log at an instant: its committed length in bytes (null: never written), and, only for an
/// ephemeral session whose log exists in one process's memory alone, the bytes themselves. Readers of a stored log
/// read storage up to <see cref="Length"/>, so later appends never leak into what they return.
/// </summary>
/// <param name="Length">Committed length in bytes, or null when the log was never written.</param>
/// <param name="Inline">An ephemeral log's bytes, else null.</param>
public sealed record LogView(long? Length, byte[]? Inline)
{
    /// <summary>The view of a log that does not exist.</summary>
    public static LogView Missing { get; } = new(null, null);
}

/// <summary>Where reads get their view of a log: the session's grain in a cluster, the service itself otherwise.</summary>
/// <param name="key">The log.</param>
/// <param name="cancellationToken">Cancels the call.</param>
public delegate Task<LogView> LogViewSource(SessionKey key, CancellationToken cancellationToken);
