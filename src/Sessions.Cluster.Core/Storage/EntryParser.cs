using System.Buffers;
using System.Text;
using System.Text.Json;
using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// Turns a request body (a JSON array of entry objects) into <see cref="TranscriptLine"/>s, validating every entry
/// before anything is written: each must be a JSON object with a string <c>type</c> (the SDK's
/// <c>SessionStoreEntry</c>), at most <see cref="EntryLimits.MaxEntryBytes"/> long. An entry's original bytes are
/// kept when they are already one compact line, so an import followed by a pull reproduces the file byte for byte.
/// </summary>
public static class EntryParser
{
    // A repeated key is refused: JSON.parse would keep only its last value, and readers must never meet one. An entry
    // may nest EntryLimits.MaxDepth levels: a line is parsed at that depth, a body at one more for its array and two
    // for the {"entries": [...]} object (its summary's data then nests at most as deep as an entry).
    private static readonly JsonDocumentOptions LineOptions = new() { MaxDepth = EntryLimits.MaxDepth, AllowDuplicateProperties = false };
    private static readonly JsonDocumentOptions ArrayBodyOptions = new() { MaxDepth = EntryLimits.MaxDepth + 1, AllowDuplicateProperties = false };
    private static readonly JsonDocumentOptions ObjectBodyOptions = new() { MaxDepth = EntryLimits.MaxDepth + 2, AllowDuplicateProperties = false };

    /// <summary>Parses and validates a JSON array of entries.</summary>
    /// <exception cref="InvalidEntryException">The body is not a JSON array of valid entries; nothing may be written.</exception>
    public static List<TranscriptLine> ParseArray(ReadOnlyMemory<byte> body, EntryLimits limits)
    {
        using var doc = ParseBody(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidEntryException("The body must be a JSON array of entry objects.");
        }

        return LinesOf(doc.RootElement, limits);
    }

    /// <summary>
    /// Parses an append's body: a JSON array of entries, or an object <c>{"entries": [...], "summary": {"version": n,
    /// "data": {...}}}</c> carrying the caller's fold of the summary sidecar too (<see cref="SummaryWrite"/>; mirrors
    /// the SDK's <c>foldSessionSummary</c> done by the adapter).
    /// </summary>
    /// <exception cref="InvalidEntryException">The entries are not valid; nothing may be written.</exception>
    /// <exception cref="InvalidRequestException">The summary is malformed (<c>invalid_summary</c>).</exception>
    /// <exception cref="LimitExceededException">The summary's data passes <see cref="EntryLimits.MaxSidecarBytes"/>.</exception>
    public static (List<TranscriptLine> Lines, SummaryWrite? Summary) ParseAppend(ReadOnlyMemory<byte> body, EntryLimits limits)
    {
        using var doc = ParseBody(body);
        var root = doc.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
        {
            return (LinesOf(root, limits), null);
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("entries", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidEntryException("The body must be a JSON array of entry objects, or an object {\"entries\": [...], \"summary\": {\"version\": n, \"data\": {...}}}.");
        }

        SummaryWrite? summary = null;
        if (root.TryGetProperty("summary", out var s) && s.ValueKind != JsonValueKind.Null)
        {
            if (s.ValueKind != JsonValueKind.Object
                || !s.TryGetProperty("version", out var v) || v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var version) || version < 0
                || !s.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestException("invalid_summary", "The summary must be {\"version\": <the sidecar version folded from, 0 for none>, \"data\": {…}}.");
            }

            var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(data);
            if (raw.Length > EntryLimits.MaxSidecarBytes)
            {
                throw new LimitExceededException("sidecar_too_large", $"A summary sidecar may hold at most {EntryLimits.MaxSidecarBytes} bytes; this one has {raw.Length}.", 413, EntryLimits.MaxSidecarBytes, raw.Length);
            }

            summary = new SummaryWrite(Encoding.UTF8.GetString(raw), version);
        }

        return (LinesOf(entries, limits), summary);
    }

    private static JsonDocument ParseBody(ReadOnlyMemory<byte> body)
    {
        // The JSON reader does not check the UTF-8 inside strings; text that is not UTF-8 would fail later, when read.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            throw new InvalidEntryException("The body is not valid UTF-8.");
        }

        try
        {
            return JsonDocument.Parse(body, FirstToken(body.Span) == (byte)'{' ? ObjectBodyOptions : ArrayBodyOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidEntryException(IsDuplicateKey(body.Span)
                ? $"An entry repeats a key ({ex.Message}); each key may appear once in an object."
                : $"The body is not valid JSON: {ex.Message}");
        }
    }

    private static byte FirstToken(ReadOnlySpan<byte> json)
    {
        var i = json.IndexOfAnyExcept(" \t\r\n"u8);
        return i < 0 ? (byte)0 : json[i];
    }

    private static List<TranscriptLine> LinesOf(JsonElement array, EntryLimits limits)
    {
        var count = array.GetArrayLength();
        if (count > limits.MaxEntriesPerBatch)
        {
            throw new InvalidEntryException($"A batch holds at most {limits.MaxEntriesPerBatch} entries; this one has {count}.");
        }

        var result = new List<TranscriptLine>(count);
        var index = 0;
        foreach (var element in array.EnumerateArray())
        {
            result.Add(ToLine(element, index++, limits));
        }

        return result;
    }

    /// <summary>Parses and validates one JSONL line (used by importers reading files).</summary>
    /// <exception cref="InvalidEntryException">The line is not a valid entry.</exception>
    public static TranscriptLine ParseLine(ReadOnlyMemory<byte> line, EntryLimits limits, int index = 0)
    {
        if (!System.Text.Unicode.Utf8.IsValid(line.Span))
        {
            throw new InvalidEntryException($"Entry {index} is not valid UTF-8.", index);
        }

        try
        {
            using var doc = JsonDocument.Parse(line, LineOptions);
            return ToLine(doc.RootElement, index, limits);
        }
        catch (JsonException ex)
        {
            throw new InvalidEntryException(IsDuplicateKey(line.Span)
                ? $"Entry {index} repeats a key ({ex.Message}); each key may appear once in an object."
                : $"Entry {index} is not valid JSON: {ex.Message}", index);
        }
    }

    // Valid JSON once repeated keys are allowed: the strict parse failed only on a repeated key.
    private static bool IsDuplicateKey(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = EntryLimits.MaxDepth + 2 });
            reader.Read();
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static TranscriptLine ToLine(JsonElement element, int index, EntryLimits limits)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidEntryException($"Entry {index} must be a JSON object, not {element.ValueKind}.", index);
        }

        if (!element.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw new InvalidEntryException($"Entry {index} must have a string 'type'.", index);
        }

        string? uuid = element.TryGetProperty("uuid", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        if (uuid is { Length: > EntryLimits.MaxUuidLength })
        {
            throw new InvalidEntryException($"Entry {index} has a uuid of {uuid.Length} characters; at most {EntryLimits.MaxUuidLength} are accepted.", index);
        }

        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element).ToArray(); // no UTF-16 copy of big entries
        if (raw.AsSpan().IndexOfAny((byte)'\n', (byte)'\r') >= 0)
        {
            var buffer = new ArrayBufferWriter<byte>(raw.Length);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                element.WriteTo(writer);
            }

            raw = buffer.WrittenSpan.ToArray();
        }

        if (raw.Length > limits.MaxEntryBytes)
        {
            throw new LimitExceededException("entry_too_large", $"Entry {index} is {raw.Length} bytes; the limit is {limits.MaxEntryBytes}.", 413, limits.MaxEntryBytes, raw.Length);
        }

        return new TranscriptLine(raw, uuid);
    }
}

/// <summary>Size limits on entries and batches.</summary>
public sealed class EntryLimits
{
    /// <summary>Default largest entry: 16 MiB (Claude Code lines with images reach several MiB).</summary>
    public const int DefaultMaxEntryBytes = 16 * 1024 * 1024;

    /// <summary>Longest <c>uuid</c> accepted, in characters (an idempotency key, not a payload).</summary>
    public const int MaxUuidLength = 256;

    /// <summary>Largest summary sidecar (<c>PUT …/summary</c> body): 1 MiB; the SDK's folded summaries are a few KiB.</summary>
    public const int MaxSidecarBytes = 1024 * 1024;

    /// <summary>Largest body of the small JSON requests (rename, tag, fork, hold, create): 64 KiB.</summary>
    public const int MaxSmallBodyBytes = 64 * 1024;

    /// <summary>Default budget of request body bytes one node holds at once: 192 MiB.</summary>
    public const long DefaultMaxBodyBytesInFlight = 192L * 1024 * 1024;

    /// <summary>
    /// Deepest JSON nesting of one entry, its own object being level 1 (<c>{"x":[[1]]}</c> is 3 deep): 256. This is the
    /// one depth limit of the store: the append path refuses a deeper entry (400 <c>invalid_entry</c>), and every
    /// reader of stored lines (forks, messages, info, console, listings, retention, the CLI) reads with
    /// <see cref="LineReaderOptions"/> or <see cref="LineDocumentOptions"/>, so whatever was accepted is read.
    /// </summary>
    public const int MaxDepth = 256;

    /// <summary>
    /// Deepest nesting of an answer or request that carries entries or sidecars inside an envelope (an array of
    /// messages, <c>{"entries": [...]}</c>, a summary's <c>data</c>): <see cref="MaxDepth"/> + 8.
    /// </summary>
    public const int MaxEnvelopeDepth = MaxDepth + 8;

    /// <summary>Reader options for one stored line (an entry): <see cref="MaxDepth"/>.</summary>
    public static JsonReaderOptions LineReaderOptions => new() { MaxDepth = MaxDepth };

    /// <summary>Document options for one stored line (an entry): <see cref="MaxDepth"/>, repeated keys allowed as <c>JSON.parse</c> allows them.</summary>
    public static JsonDocumentOptions LineDocumentOptions => new() { MaxDepth = MaxDepth };

    /// <summary>Document options for an envelope around entries (<see cref="MaxEnvelopeDepth"/>).</summary>
    public static JsonDocumentOptions EnvelopeDocumentOptions => new() { MaxDepth = MaxEnvelopeDepth };

    /// <summary>Largest entry in bytes.</summary>
    public int MaxEntryBytes { get; set; } = DefaultMaxEntryBytes;

    /// <summary>Most entries in one append.</summary>
    public int MaxEntriesPerBatch { get; init; } = 10_000;

    /// <summary>Largest request body in bytes (64 MiB by default).</summary>
    public long MaxBatchBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Request body bytes one node reads at once, over all requests (<see cref="DefaultMaxBodyBytesInFlight"/>): a body
    /// that would pass it is answered 429 <c>server_busy</c> with Retry-After, so a node's memory stays bounded under
    /// many concurrent large batches.
    /// </summary>
    public long MaxBodyBytesInFlight { get; init; } = DefaultMaxBodyBytesInFlight;
}
