namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// A consistent view of one log at an instant: its committed length in bytes (null: never written), and, for an
/// ephemeral session whose log exists in one process's memory alone or a stored log its grain holds in memory (a hot
/// session in a cluster), the bytes themselves. Readers of other logs read storage up to <see cref="Length"/>, so
/// later appends never leak into what they return.
/// </summary>
/// <param name="Length">Committed length in bytes, or null when the log was never written.</param>
/// <param name="Inline">The log's <see cref="Length"/> bytes when they travel with the view, else null.</param>
public sealed record LogView(long? Length, ReadOnlyMemory<byte>? Inline)
{
    /// <summary>The view of a log that does not exist.</summary>
    public static LogView Missing { get; } = new(null, null);
}

/// <summary>Where reads get their view of a log: the session's grain in a cluster, the service itself otherwise.</summary>
/// <param name="key">The log.</param>
/// <param name="cancellationToken">Cancels the call.</param>
public delegate Task<LogView> LogViewSource(SessionKey key, CancellationToken cancellationToken);
