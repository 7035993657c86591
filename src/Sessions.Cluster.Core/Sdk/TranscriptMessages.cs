using System.Text.Json.Nodes;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// One transcript's <c>getSessionMessages</c> answer kept between reads and extended by what is appended: the parsed
/// graph entries of the log (user, assistant, progress, system and attachment lines; other lines are not kept) and
/// each message serialized once. A read after an append parses only the appended lines and serializes only the new
/// messages; the chain itself is chosen again over all entries (the SDK's leaf rule, compaction relinking and split
/// responses can move it anywhere), so every answer equals <see cref="SessionMessages.Build"/> over the whole file.
/// </summary>
/// <remarks>Not thread-safe: its owner (a session grain's turn) orders the calls.</remarks>
public sealed class TranscriptMessages
{
    // What a kept entry costs, measured (managed heap, both message lists built): 9.1 MB for the 3.2 MB fixture session
    // 4d5611e5 (2.9 bytes a byte), 38 MB for 20,000 entries of 94 bytes (20 bytes a byte), 118 MB for 20,000 of 2 KB
    // (2.8). An upper estimate: 3 bytes per byte of the entry's line and 2 KiB for the entry itself.
    private const int BytesPerLineByte = 3;
    private const int BytesPerEntry = 2048;

    private readonly List<ChainEntry> _graph = [];
    private readonly Dictionary<JsonObject, byte[]> _serialized = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<JsonObject, byte[]> _serializedCompleted = new(ReferenceEqualityComparer.Instance);
    private List<byte[]>? _messages;
    private List<byte[]>? _messagesWithSystem;
    private bool _endsAtLine = true;

    /// <summary>The transcript bytes read so far (the log's length when it was last extended).</summary>
    public long Length { get; private set; }

    /// <summary>An upper estimate of the memory this holds, in bytes (what its owner reserves to keep it).</summary>
    public long EstimatedBytes { get; private set; }

    /// <summary>Reads <paramref name="added"/>: the bytes the log has past <see cref="Length"/>, whole lines as committed.</summary>
    /// <returns>False, reading nothing, when what was read before ended inside a line (the added bytes would continue
    /// it, which a line-by-line read of the whole file would parse differently): the caller starts a new one.</returns>
    public bool TryAppend(ReadOnlySpan<byte> added)
    {
        if (added.IsEmpty)
        {
            return true;
        }

        if (!_endsAtLine)
        {
            return false;
        }

        foreach (var (entry, line) in TranscriptText.ParseLines(added))
        {
            if (ChainEntry.From(entry) is { } graphEntry)
            {
                _graph.Add(graphEntry);
                EstimatedBytes += BytesPerEntry + (BytesPerLineByte * (long)line.GetOffsetAndLength(added.Length).Length);
            }
        }

        Length += added.Length;
        _endsAtLine = added[^1] == (byte)'\n';
        _messages = null;
        _messagesWithSystem = null;
        return true;
    }

    /// <summary>
    /// The messages of the live chain as the SDK's <c>getSessionMessages</c> returns them, each as the UTF-8 of its
    /// <c>JSON.stringify</c>; the same list until the next <see cref="TryAppend"/> that reads something.
    /// </summary>
    /// <param name="includeSystemMessages">Also include system entries on the chain (the SDK's option).</param>
    public IReadOnlyList<byte[]> Messages(bool includeSystemMessages)
    {
        ref var kept = ref includeSystemMessages ? ref _messagesWithSystem : ref _messages;
        if (kept is not null)
        {
            return kept;
        }

        var chain = SessionMessages.VisibleChain(_graph, includeSystemMessages);
        var messages = new List<byte[]>(chain.Count);
        foreach (var (entry, completed) in chain)
        {
            // A message depends on the entry's node and whether it is a completed local command only (a compaction
            // relink changes the entry's parent, never its message).
            var cache = completed ? _serializedCompleted : _serialized;
            if (!cache.TryGetValue(entry.Node, out var bytes))
            {
                // The entry lends its `message` to the shaped message (no copy of it) and gets it back once written;
                // the node keeps every field (its key order is no longer the file's, which nothing here reads).
                var shaped = SessionMessages.ToMessage(entry, moveMessage: true, completed);
                bytes = JsJson.Stringify(shaped);
                if (shaped["message"] is { } lent)
                {
                    shaped.Remove("message");
                    entry.Node["message"] = lent;
                }

                cache[entry.Node] = bytes;
            }

            messages.Add(bytes);
        }

        kept = messages;
        return messages;
    }
}
