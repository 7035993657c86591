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
    private void IndexLater(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines)
    {
        if (IndexContent)
        {
            _index.Value.Add(tenant, key, lines);
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
        await catalog.IndexMessagesAsync(tenant, key.ProjectKey, key.SessionId, MessageText.Of(bytes), cancellationToken).ConfigureAwait(false);
    }
}
