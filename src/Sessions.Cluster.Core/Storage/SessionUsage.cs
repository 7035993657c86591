using System.Buffers;
using System.Text.Json;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The models and token usage of a session's main transcript, kept in its catalog row (<see cref="SessionRecord.Usage"/>,
/// as JSON) and folded forward by the session's grain over the entries each append writes, so a listing shows a
/// session's totals without reading its transcript.
/// </summary>
/// <remarks>
/// Counts what Claude Code's transcripts say: every assistant entry carries <c>message.usage</c> (<c>input_tokens</c>,
/// <c>output_tokens</c>, <c>cache_read_input_tokens</c>, <c>cache_creation_input_tokens</c>) and <c>message.model</c>;
/// Claude Code writes one entry per content block of an API message, all with the message's <c>message.id</c> and the
/// usage so far, so each API message is counted once, by its last entry (an entry without an id counts on its own). The
/// entries of one message may be split by others (tool results), so the last <see cref="RecentMessages"/> messages'
/// counted usage is kept to be replaced when a later entry of the same message comes. Models are counted per API
/// message, <c>&lt;synthetic&gt;</c> (Claude Code's own error entries) left out. As the console's full history does,
/// entries of subagents written into the main file (<c>isSidechain</c>) and entries without a uuid are not counted
/// (a subagent's own transcript is a subpath, not counted here). Counts saturate at
/// <see cref="long.MaxValue"/>; a negative or non-numeric count is 0. Not thread-safe: one writer (the grain's turn).
/// </remarks>
public sealed class SessionUsage
{
    /// <summary>
    /// How many of the latest API messages are remembered, so that a later entry of one replaces its count (in the real
    /// transcripts of the fixtures only user entries — tool results — ever come between the entries of one message).
    /// </summary>
    public const int RecentMessages = 2;

    /// <summary>How many distinct models are counted (a ninth is left out of <see cref="Models"/>, its tokens are not).</summary>
    public const int MaxModels = 8;

    /// <summary>The longest model name kept, in characters (a longer one is cut: the row stays small whatever a transcript says).</summary>
    public const int MaxModelChars = 128;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 4096 };
    private readonly Dictionary<string, int> _models = new(StringComparer.Ordinal);
    private readonly List<Counted> _recent = [];

    /// <summary>Input tokens (not read from or written to the prompt cache), over every API message.</summary>
    public long Input { get; private set; }

    /// <summary>Output tokens.</summary>
    public long Output { get; private set; }

    /// <summary>Input tokens read from the prompt cache.</summary>
    public long CacheRead { get; private set; }

    /// <summary>Input tokens written to the prompt cache.</summary>
    public long CacheWrite { get; private set; }

    /// <summary>All prompt tokens: <see cref="Input"/>, <see cref="CacheRead"/> and <see cref="CacheWrite"/> (saturating).</summary>
    public long Prompt => Plus(Plus(Input, CacheRead), CacheWrite);

    /// <summary>API messages counted.</summary>
    public int Messages { get; private set; }

    /// <summary>The transcript's length in bytes these counts are of (the next fold starts there).</summary>
    public long Through { get; set; }

    /// <summary>API messages per model, <c>&lt;synthetic&gt;</c> left out.</summary>
    public IReadOnlyDictionary<string, int> Models => _models;

    /// <summary>The model that answered the most API messages (ties: the first in ordinal order), or null.</summary>
    public string? Model => _models.Count == 0 ? null
        : _models.OrderByDescending(m => m.Value).ThenBy(m => m.Key, StringComparer.Ordinal).First().Key;

    /// <summary>Counts one transcript entry (a JSONL line without its newline); lines that are not assistant entries with usage change nothing.</summary>
    public void Add(ReadOnlySpan<byte> line)
    {
        // Most lines are not assistant entries with usage: a vectorized search rules them out before any parsing.
        if (line.IndexOf("\"usage\""u8) < 0 || line.IndexOf("\"assistant\""u8) < 0 || Read(line) is not { } entry)
        {
            return;
        }

        if (entry.Id is { } id && _recent.FindIndex(c => c.Id == id) is var at and >= 0)
        {
            var before = _recent[at];
            Input = Plus(Input - before.Input, entry.Input);
            Output = Plus(Output - before.Output, entry.Output);
            CacheRead = Plus(CacheRead - before.CacheRead, entry.CacheRead);
            CacheWrite = Plus(CacheWrite - before.CacheWrite, entry.CacheWrite);
            _recent.RemoveAt(at);
            _recent.Add(entry);
            return;
        }

        Input = Plus(Input, entry.Input);
        Output = Plus(Output, entry.Output);
        CacheRead = Plus(CacheRead, entry.CacheRead);
        CacheWrite = Plus(CacheWrite, entry.CacheWrite);
        Messages++;
        if (entry.Model is { Length: > 0 } named && named != "<synthetic>"
            && (named.Length <= MaxModelChars ? named : named[..MaxModelChars]) is var model && (_models.ContainsKey(model) || _models.Count < MaxModels))
        {
            _models[model] = _models.GetValueOrDefault(model) + 1;
        }

        if (entry.Id is not null)
        {
            if (_recent.Count == RecentMessages)
            {
                _recent.RemoveAt(0);
            }

            _recent.Add(entry);
        }
    }

    /// <summary>
    /// Counts the whole lines of <paramref name="bytes"/> (JSONL, each line ended by a newline) and moves
    /// <see cref="Through"/> past them; answers how many bytes were taken (a last line without its newline is left).
    /// </summary>
    public int AddLines(ReadOnlySpan<byte> bytes)
    {
        var taken = 0;
        while (bytes[taken..].IndexOf((byte)'\n') is var end and >= 0)
        {
            Add(bytes.Slice(taken, end));
            taken += end + 1;
        }

        Through += taken;
        return taken;
    }

    /// <summary>This usage as the catalog row keeps it: <c>{"input":…,"output":…,"cacheRead":…,"cacheWrite":…,"messages":…,"through":…,"models":{…},"recent":[[id,in,out,read,write],…]}</c>.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("input", Input);
            w.WriteNumber("output", Output);
            w.WriteNumber("cacheRead", CacheRead);
            w.WriteNumber("cacheWrite", CacheWrite);
            w.WriteNumber("messages", Messages);
            w.WriteNumber("through", Through);
            w.WriteStartObject("models");
            foreach (var (model, count) in _models)
            {
                w.WriteNumber(model, count);
            }

            w.WriteEndObject();
            w.WriteStartArray("recent");
            foreach (var c in _recent)
            {
                w.WriteStartArray();
                w.WriteStringValue(c.Id);
                w.WriteNumberValue(c.Input);
                w.WriteNumberValue(c.Output);
                w.WriteNumberValue(c.CacheRead);
                w.WriteNumberValue(c.CacheWrite);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote; null for null, empty or anything else (the caller counts again).</summary>
    public static SessionUsage? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var usage = new SessionUsage
            {
                Input = root.GetProperty("input").GetInt64(),
                Output = root.GetProperty("output").GetInt64(),
                CacheRead = root.GetProperty("cacheRead").GetInt64(),
                CacheWrite = root.GetProperty("cacheWrite").GetInt64(),
                Messages = root.GetProperty("messages").GetInt32(),
                Through = root.GetProperty("through").GetInt64(),
            };
            foreach (var model in root.GetProperty("models").EnumerateObject().Take(MaxModels))
            {
                usage._models[model.Name] = model.Value.GetInt32();
            }

            foreach (var c in root.GetProperty("recent").EnumerateArray().TakeLast(RecentMessages))
            {
                usage._recent.Add(new Counted(c[0].GetString(), null, c[1].GetInt64(), c[2].GetInt64(), c[3].GetInt64(), c[4].GetInt64()));
            }

            return usage.Through >= 0 ? usage : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    // An assistant entry's message id, model and usage, read without building a document; null when the line is not an
    // assistant entry with a usage object.
    private static Counted? Read(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            bool assistant = false, sidechain = false, uuid = false;
            Counted? message = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    assistant = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("assistant"u8);
                }
                else if (reader.ValueTextEquals("isSidechain"u8))
                {
                    reader.Read();
                    sidechain = reader.TokenType == JsonTokenType.True;
                }
                else if (reader.ValueTextEquals("uuid"u8))
                {
                    reader.Read();
                    uuid = reader.TokenType == JsonTokenType.String;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    message = reader.TokenType == JsonTokenType.StartObject ? ReadMessage(ref reader) : Skip(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return assistant && uuid && !sidechain ? message : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Counted? ReadMessage(ref Utf8JsonReader reader)
    {
        string? id = null, model = null;
        long input = 0, output = 0, cacheRead = 0, cacheWrite = 0;
        var hasUsage = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                id = reader.TokenType == JsonTokenType.String ? reader.GetString() : Skipped(ref reader);
            }
            else if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = reader.TokenType == JsonTokenType.String ? reader.GetString() : Skipped(ref reader);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                hasUsage = true;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    ref var target = ref input;
                    var known = true;
                    if (reader.ValueTextEquals("input_tokens"u8))
                    {
                        target = ref input;
                    }
                    else if (reader.ValueTextEquals("output_tokens"u8))
                    {
                        target = ref output;
                    }
                    else if (reader.ValueTextEquals("cache_read_input_tokens"u8))
                    {
                        target = ref cacheRead;
                    }
                    else if (reader.ValueTextEquals("cache_creation_input_tokens"u8))
                    {
                        target = ref cacheWrite;
                    }
                    else
                    {
                        known = false;
                    }

                    reader.Read();
                    if (known && reader.TokenType == JsonTokenType.Number)
                    {
                        target = reader.TryGetDouble(out var n) && n > 0 && n < long.MaxValue ? (long)n : 0;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return hasUsage ? new Counted(id, model, input, output, cacheRead, cacheWrite) : null;
    }

    private static Counted? Skip(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }

    private static string? Skipped(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }

    private static long Plus(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private sealed record Counted(string? Id, string? Model, long Input, long Output, long CacheRead, long CacheWrite);
}
