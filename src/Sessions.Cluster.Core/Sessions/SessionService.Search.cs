using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

public sealed partial class SessionService
{
    // Started with the first main append (a service that only reads never starts its worker).
    private readonly Lazy<SearchIndexQueue> _index = new(() => new SearchIndexQueue(catalog));

    /// <summary>
    /// The content search follows a main transcript's appends off the append's path: the batch is queued once the
    /// append is acknowledged and its row written, and indexed behind it (<see cref="SearchIndexQueue"/>).
    /// </summary>
    private void IndexLater(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines) =>
        _index.Value.Add(tenant, key, lines);

    // Every message of a main transcript indexed again (reindex).
    private async Task IndexTranscriptAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        var stat = await store.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false);
        if (stat is null)
        {
            return;
        }

        var bytes = await ReadRangeAsync(store, tenant, key, 0, stat.Length, cancellationToken).ConfigureAwait(false);
        await catalog.IndexMessagesAsync(tenant, key.ProjectKey, key.SessionId, MessageText.Of(bytes), cancellationToken).ConfigureAwait(false);
    }
}
