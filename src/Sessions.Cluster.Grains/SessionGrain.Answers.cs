using System.Buffers;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Answers built by the session's grain from its own view of a log (its hot bytes where it keeps them), so that only
/// answers cross silos: messages, subagent messages, context after compaction. The messages of the last log asked
/// are kept, serialized, for the next page while the log's length and the grain's copies stay the same (within
/// <see cref="SessionGrainOptions.HotTranscriptBytes"/> and the silo's budget); activation collection frees them.
/// </summary>
public sealed partial class SessionGrain
{
    private MessagesCache? _messages;

    /// <inheritdoc />
    public async Task<JsonAnswer> GetMessages(string? subpath, bool includeSystemMessages, int offset, int? limit)
    {
        if (offset < 0 || limit < 0)
        {
            throw new InvalidRequestException("invalid_paging", "offset and limit must not be negative.");
        }

        var generation = _hotGeneration;
        var view = await GetView(subpath, silo.SiloAddress);
        if (_messages is { } kept && kept.Subpath == subpath && kept.IncludeSystemMessages == includeSystemMessages && kept.Length == view.Length && kept.Generation == generation)
        {
            return Page(kept.Items, offset, limit);
        }

        var all = await sessions.GetMessagesAsync(_tenant, Key(subpath), includeSystemMessages, 0, null, CancellationToken.None, Fixed(view));
        var items = all.ConvertAll(m => JsJson.Stringify(m));
        Keep(new MessagesCache(subpath, includeSystemMessages, view.Length, generation, items, items.Sum(i => (long)i.Length)));
        return Page(items, offset, limit);
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

    private void Keep(MessagesCache cache)
    {
        DropMessages();
        if (options.HotTranscriptBytes <= 0 || cache.Length is not { } length || length > options.HotTranscriptBytes || cache.Generation != _hotGeneration
            || !budget.TryReserve(cache.Bytes))
        {
            return;
        }

        _messages = cache;
    }

    private void DropMessages()
    {
        if (_messages is { } kept)
        {
            budget.Release(kept.Bytes);
            _messages = null;
        }
    }

    private static JsonAnswer Page(List<byte[]> items, int offset, int? limit)
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

    /// <summary>The serialized messages of one log at one length (and one generation of the grain's copies).</summary>
    private sealed record MessagesCache(string? Subpath, bool IncludeSystemMessages, long? Length, int Generation, List<byte[]> Items, long Bytes);
}
