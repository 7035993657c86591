using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

public sealed partial class SessionService
{
    // Started with the first main append (a service that only reads never starts its worker).
    private readonly Lazy<SearchIndexQueue> _index = new(() => new SearchIndexQueue(catalog));

    /// <summary>
    /// Whether what sessions say is indexed for content search (true, the default). False keeps no message text in the
    /// catalog: appends queue nothing and a reindex indexes nothing (an operator's choice, e.g. for privacy).
    /// </summary>
    public bool IndexContent { get; init; } = true;

    /// <summary>
    /// The content search follows a main transcript's appends off the append's path: the batch is queued once the
    /// append is acknowledged and its row written, and indexed behind it (<see cref="SearchIndexQueue"/>).
    /// </summary>
    private void IndexLater(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long length)
    {
        if (IndexContent)
        {
            _index.Value.Add(tenant, key, lines, length);
        }
    }

    /// <summary>
    /// Indexes every session of <paramref name="tenant"/> whose transcript grew past what the content index holds (an
    /// index write lost with the process that queued it), a thousand at a time (newest first); nothing when content
    /// indexing is off. A session that cannot be indexed (its transcript gone) is tried once per call.
    /// </summary>
    /// <returns>How many sessions were indexed.</returns>
    /// <exception cref="InvalidKeyException">The tenant name is not safe.</exception>
    public async Task<int> CatchUpIndexAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        if (!IndexContent)
        {
            return 0;
        }

        var count = 0;
        var tried = new HashSet<SessionKey>();
        while (true)
        {
            // Sessions tried and still behind (a transcript gone, a failure) come back in every page: ask for that
            // many more, so they never hide the ones not tried yet.
            var behind = await catalog.ListUnindexedAsync(tenant, tried.Count + 1000, cancellationToken).ConfigureAwait(false);
            var fresh = behind.Where(tried.Add).ToList();
            if (fresh.Count == 0)
            {
                return count;
            }

            foreach (var key in fresh)
            {
                try
                {
                    await IndexTranscriptAsync(tenant, key, cancellationToken).ConfigureAwait(false);
                    count++;
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    // This session waits for the next start or a reindex; the others go on.
                }
            }
        }
    }

    // Every message of a main transcript indexed again (reindex).
    private async Task IndexTranscriptAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        if (!IndexContent || await store.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false) is not { } stat)
        {
            return;
        }

        var bytes = await ReadRangeAsync(store, tenant, key, 0, stat.Length, cancellationToken).ConfigureAwait(false);
        await catalog.IndexMessagesAsync(tenant, key.ProjectKey, key.SessionId, MessageText.Of(bytes), stat.Length, cancellationToken).ConfigureAwait(false);
    }
}
