using System.Text.Json.Nodes;
using System.Threading.Channels;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Search;

/// <summary>
/// Writes the content search's index behind the appends: appended batches are queued (nothing is parsed or written on
/// the append's path) and one worker, every <see cref="Delay"/>, parses what came and indexes it a session at a time, so
/// a busy node writes the index in a few larger batches instead of once per append. Each write notes how far the
/// session's messages are indexed (its transcript's length), so what is queued when the process dies, over
/// <see cref="Capacity"/> batches or lost to a catalog error is found again: the next start indexes every session whose
/// transcript grew past its index (<see cref="Sessions.SessionService.CatchUpIndexAsync"/>), as <c>reindex</c> does.
/// </summary>
internal sealed class SearchIndexQueue
{
    /// <summary>Batches waiting at most; past it a batch is left to <c>reindex</c>.</summary>
    public const int Capacity = 100_000;

    /// <summary>Sessions whose messages are written at once (each write a catalog call of its own).</summary>
    public const int WritersAtOnce = 16;

    /// <summary>How long the worker gathers batches before it writes them.</summary>
    public static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(100);

    private readonly Channel<(string Tenant, SessionKey Key, IReadOnlyList<TranscriptLine> Lines, long Length)> _queue =
        Channel.CreateBounded<(string, SessionKey, IReadOnlyList<TranscriptLine>, long)>(new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });

    private readonly ISessionCatalog _catalog;

    public SearchIndexQueue(ISessionCatalog catalog)
    {
        _catalog = catalog;
        _ = Task.Run(RunAsync);
    }

    /// <summary>Queues a main transcript's appended lines and its length (bytes) after them.</summary>
    public void Add(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long length) => _queue.Writer.TryWrite((tenant, key, lines, length));

    private async Task RunAsync()
    {
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await Task.Delay(Delay).ConfigureAwait(false);
            var sessions = new Dictionary<(string Tenant, string ProjectKey, string SessionId), (List<IndexedMessage> Messages, long Length)>();
            while (_queue.Reader.TryRead(out var batch))
            {
                var id = (batch.Tenant, batch.Key.ProjectKey, batch.Key.SessionId);
                var messages = sessions.TryGetValue(id, out var gathered) ? gathered.Messages : [];
                sessions[id] = (messages, Math.Max(gathered.Length, batch.Length));
                messages.AddRange(batch.Lines.Where(l => l.Json.Length <= MessageText.MaxEntryBytes).Select(l => JsJson.Parse(l.Json.Span) as JsonObject).OfType<JsonObject>().Select(MessageText.Of).OfType<IndexedMessage>());
            }

            // The sessions' writes go side by side, WritersAtOnce at a time, so the catalog commits them together (SQLite's
            // group commit puts them in one transaction: FTS5 writes one segment for them, not one a session; PostgreSQL's
            // concurrent commits share their WAL flushes). One after the other, each was a commit of its own.
            foreach (var chunk in sessions.Chunk(WritersAtOnce))
            {
                await Task.WhenAll(chunk.Select(IndexAsync)).ConfigureAwait(false);
            }
        }
    }

    private async Task IndexAsync(KeyValuePair<(string Tenant, string ProjectKey, string SessionId), (List<IndexedMessage> Messages, long Length)> session)
    {
        var ((tenant, projectKey, sessionId), (messages, length)) = session;
        try
        {
            await _catalog.IndexMessagesAsync(tenant, projectKey, sessionId, messages, length, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Left for reindex: a search may miss these messages until then, an append never fails for it.
        }
    }
}
