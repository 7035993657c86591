namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The processes that write catalog rows behind their appends (<see cref="WriteBehindCatalog"/> over a shared catalog):
/// who this one is, and how a reader on any of them waits until every one has written what it holds back.
/// </summary>
/// <remarks>
/// In the cluster each silo is one writer (<c>Sessions.Cluster.Grains.CatalogWriteBarrier</c>); a listing, search or
/// summary read on any node first passes this barrier, so it sees every append acknowledged before it began (the
/// SDK's <c>listSessions</c> after <c>append</c>).
/// </remarks>
public interface ICatalogWriteBarrier
{
    /// <summary>This process's name as a writer of rows held back: unique per start (a silo's address and generation).</summary>
    string LocalWriter { get; }

    /// <summary>
    /// Returns when every live writer has written the rows and sidecars it held back when this call began. A writer
    /// that does not answer in time (dying) is passed over: the rows it held are marked
    /// (<see cref="IRowWriterMarks"/>) and brought up to date after its death.
    /// </summary>
    /// <param name="tenant">The tenant the caller is about to read, or null for all.</param>
    /// <param name="cancellationToken">Cancels the wait (not the writes).</param>
    Task WaitForWritesAsync(string? tenant, CancellationToken cancellationToken);
}

/// <summary>
/// Durable notes of which writer may hold a session's row back: written with the row, through, on the first append of
/// an activation, removed when the activation ends. A note whose writer died names a row that may miss acknowledged
/// appends; the session's grain rebuilds it from the transcript (<see cref="ListMarksAsync"/>).
/// </summary>
public interface IRowWriterMarks
{
    /// <summary>Writes the row (as <see cref="ISessionCatalog.UpsertAsync"/>) and the note that <paramref name="writer"/> holds it, in one transaction.</summary>
    /// <exception cref="SessionsException">The catalog is unavailable (code <c>storage_unavailable</c>).</exception>
    Task UpsertMarkedAsync(SessionRecord record, string writer, CancellationToken cancellationToken);

    /// <summary>Removes the note that <paramref name="writer"/> holds the session's row; nothing when there is none.</summary>
    Task ClearMarkAsync(string tenant, string projectKey, string sessionId, string writer, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> notes, oldest first, over every tenant.</summary>
    Task<IReadOnlyList<RowWriterMark>> ListMarksAsync(int limit, CancellationToken cancellationToken);
}

/// <summary>A note that <paramref name="Writer"/> may hold a session's row back (<see cref="IRowWriterMarks"/>).</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="ProjectKey">The project key.</param>
/// <param name="SessionId">The session id.</param>
/// <param name="Writer">The writer (<see cref="ICatalogWriteBarrier.LocalWriter"/>).</param>
/// <param name="Since">When the note was written (epoch ms).</param>
public sealed record RowWriterMark(string Tenant, string ProjectKey, string SessionId, string Writer, long Since);
