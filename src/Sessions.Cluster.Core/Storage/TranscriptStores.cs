namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// One-shot writes by key: each opens a log (<see cref="ITranscriptStore.Open"/>) for one call, so it learns the log
/// from storage first. For tools, tests and maintenance; a session's writes go through the handles its grain holds.
/// </summary>
public static class TranscriptStores
{
    /// <summary>Appends through a log opened for this call (see <see cref="ITranscriptLog.AppendAsync"/>).</summary>
    public static Task<AppendResult> AppendAsync(this ITranscriptStore store, string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.Open(tenant, key).AppendAsync(lines, expectedLength, cancellationToken);
    }

    /// <summary>Sets a log's mtime through a log opened for this call (see <see cref="ITranscriptLog.SetMtimeAsync"/>).</summary>
    public static Task SetMtimeAsync(this ITranscriptStore store, string tenant, SessionKey key, long mtime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.Open(tenant, key).SetMtimeAsync(mtime, cancellationToken);
    }

    /// <summary>Deletes a log (a main key: with its subpaths) through a log opened for this call.</summary>
    public static Task<bool> DeleteAsync(this ITranscriptStore store, string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.Open(tenant, key).DeleteAsync(cancellationToken);
    }

    /// <summary>Deletes a session if its main transcript is still <paramref name="expectedLength"/> bytes (see <see cref="ITranscriptLog.DeleteIfUnchangedAsync"/>).</summary>
    public static Task<ConditionalDelete> DeleteIfUnchangedAsync(this ITranscriptStore store, string tenant, SessionKey key, long expectedLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(key);
        return store.Open(tenant, key.Main).DeleteIfUnchangedAsync(expectedLength, cancellationToken);
    }
}
