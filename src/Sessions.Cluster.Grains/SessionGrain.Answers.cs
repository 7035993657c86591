using System.Buffers;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Answers built by the session's grain from its own view of a log (its hot bytes where it keeps them), so that only
/// answers cross silos: messages, subagent messages, context after compaction. The messages of the last log asked
/// are kept (<see cref="TranscriptMessages"/>: its parsed graph entries and each message serialized) and extended by
/// what is appended, so a read after an append parses only the new lines; they are kept until a write other than an
/// append, for logs up to <see cref="SessionGrainOptions.MessagesLogBytes"/> and within the silo's budget, and
/// activation collection frees them.
/// </summary>
public sealed partial class SessionGrain
{
    private KeptMessages? _messages;

    /// <inheritdoc />
    public async Task<JsonAnswer> GetMessages(string? subpath, bool includeSystemMessages, int offset, int? limit)
    {
        if (offset < 0 || limit < 0)
        {
            throw new InvalidRequestException("invalid_paging", "offset and limit must not be negative.");
        }

        var view = await GetView(subpath, silo.SiloAddress);
        if (await KeptMessagesAsync(subpath, view) is { } kept)
        {
            return Page(kept.Messages(includeSystemMessages), offset, limit);
        }

        // Not kept (too big, over the budget, an ephemeral log, or no log): built from the view and dropped.
        var all = await sessions.GetMessagesAsync(_tenant, Key(subpath), includeSystemMessages, 0, null, CancellationToken.None, Fixed(view));
        return Page(all.ConvertAll(m => JsJson.Stringify(m)), offset, limit);
    }

    /// <inheritdoc />
    public async Task<JsonAnswer> GetSubagentMessages(string agentId, int offset, int? limit) =>
        Answer(await sessions.GetSubagentMessagesAsync(_tenant, _projectKey, _sessionId, agentId, offset, limit, CancellationToken.None, OwnViews, _state));

    /// <inheritdoc />
    public async Task<JsonAnswer> GetContext(string? subpath) =>
        Answer(await sessions.GetContextAsync(_tenant, Key(subpath), CancellationToken.None, OwnViews));

    // The grain's own views (hot bytes included: the caller is this silo).
    private LogViewSource OwnViews => async (key, _) => (await GetView(key.Subpath, silo.SiloAddress)).ToLogView();

    private static LogViewSource Fixed(TranscriptView view) => (_, _) => Task.FromResult(view.ToLogView());

    // The messages of `subpath` as of the view's length: the kept ones, extended by what was appended since (read from
    // the view's hot bytes, or as one range read), or read whole and kept when the budget allows; null when none are
    // kept for such a log. Kept ones past the view (a shorter log: another writer's, or a read that interleaved with a
    // later one) are not trusted: the view's bytes are read whole again.
    private async Task<TranscriptMessages?> KeptMessagesAsync(string? subpath, TranscriptView view)
    {
        if (options.MessagesLogBytes <= 0 || _state.Ephemeral || view.Length is not { } length || length > options.MessagesLogBytes)
        {
            return null;
        }

        var generation = _writes;
        if (_messages is { } kept && kept.Subpath == subpath && kept.Generation == generation)
        {
            var at = kept.Log.Length;
            if (at == length)
            {
                return kept.Log;
            }

            var added = at > length ? null : view.Inline is { } hot ? hot[(int)at..(int)length] : Memory(await ReadOrNullAsync(subpath, at, length - at));
            if (added is { } bytes && _messages == kept && kept.Generation == _writes && kept.Log.Length == at && kept.Log.TryAppend(bytes.Span))
            {
                // Extended: kept while the budget holds what they cost now, else answered once and dropped.
                if (Reserve(kept))
                {
                    return kept.Log;
                }

                var answer = kept.Log;
                DropMessages();
                return answer;
            }
        }

        var whole = view.Inline is { } inline ? inline[..(int)length] : Memory(await ReadOrNullAsync(subpath, 0, length));
        if (whole is not { } read)
        {
            return null;
        }

        var log = new TranscriptMessages();
        log.TryAppend(read.Span);
        if (generation == _writes)
        {
            DropMessages();
            var fresh = new KeptMessages(subpath, generation, log);
            if (Reserve(fresh))
            {
                _messages = fresh;
            }
        }

        return log;
    }

    // Reserves what kept messages cost beyond what they hold reserved; false (nothing more reserved) past the budget.
    private bool Reserve(KeptMessages kept)
    {
        var growth = kept.Log.EstimatedBytes - kept.Reserved;
        if (!budget.TryReserve(growth))
        {
            return false;
        }

        kept.Reserved += growth;
        return true;
    }

    private static ReadOnlyMemory<byte>? Memory(byte[]? bytes) => bytes is null ? null : bytes;

    private void DropMessages()
    {
        if (_messages is { } kept)
        {
            budget.Release(kept.Reserved);
            _messages = null;
        }
    }

    private static JsonAnswer Page(IReadOnlyList<byte[]> items, int offset, int? limit)
    {
        var page = items.Skip(offset);
        if (limit is > 0)
        {
            page = page.Take(limit.Value);
        }

        var output = new ArrayBufferWriter<byte>();
        output.Write("["u8);
        var first = true;
        foreach (var item in page)
        {
            if (!first)
            {
                output.Write(","u8);
            }

            output.Write(item);
            first = false;
        }

        output.Write("]"u8);
        return new JsonAnswer(output.WrittenSpan.ToArray());
    }

    private static JsonAnswer Answer(List<JsonObject> items)
    {
        var output = new ArrayBufferWriter<byte>();
        JsJson.Write(new JsonArray([.. items.Select(i => i.Parent is null ? i : i.DeepClone())]), output);
        return new JsonAnswer(output.WrittenSpan.ToArray());
    }

    /// <summary>The messages of one log (main or a subpath) as of the grain's last write other than an append
    /// (<see cref="_writes"/>), and the bytes reserved for them in the silo's budget.</summary>
    private sealed record KeptMessages(string? Subpath, int Generation, TranscriptMessages Log)
    {
        public long Reserved { get; set; }
    }
}
