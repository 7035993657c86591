using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Core.Search;

/// <summary>One transcript entry's words as the content search indexes them.</summary>
/// <param name="Uuid">The entry's uuid.</param>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Timestamp">The entry's timestamp (Unix epoch ms), or null.</param>
/// <param name="Text">The words: text a person or the model wrote, tool names and inputs, tool results.</param>
public sealed record IndexedMessage(string Uuid, string Role, long? Timestamp, string Text);

/// <summary>
/// What the content search reads of a transcript entry: the user and assistant entries the SDK's
/// <c>getSessionMessages</c> can show (not meta, not sidechain), as text — user text and compaction summaries,
/// assistant text, each tool call's name and input, tool results — never raw JSON escapes or base64 images, thinking or
/// signatures. At most <see cref="MaxChars"/> characters an entry; entries over <see cref="MaxEntryBytes"/> are not indexed.
/// </summary>
public static class MessageText
{
    /// <summary>Most characters indexed of one entry.</summary>
    public const int MaxChars = 64 * 1024;

    /// <summary>
    /// Longest entry indexed, in bytes as stored (1 MiB): a longer one (a pasted file, a huge tool result) is not
    /// indexed, since parsing it costs far more memory, outside any request's budget, than the <see cref="MaxChars"/>
    /// characters kept of it are worth.
    /// </summary>
    public const int MaxEntryBytes = 1024 * 1024;

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, MaxDepth = Storage.EntryLimits.MaxEnvelopeDepth };

    /// <summary>
    /// The indexed form of each entry of <paramref name="jsonl"/> that has words; the rest, and entries longer than
    /// <see cref="MaxEntryBytes"/>, are skipped.
    /// </summary>
    public static List<IndexedMessage> Of(ReadOnlySpan<byte> jsonl)
    {
        var indexed = new List<IndexedMessage>();
        while (!jsonl.IsEmpty)
        {
            var end = jsonl.IndexOf((byte)'\n');
            var line = end < 0 ? jsonl : jsonl[..end];
            jsonl = end < 0 ? [] : jsonl[(end + 1)..];
            if (line.Length <= MaxEntryBytes)
            {
                indexed.AddRange(TranscriptText.ParseObjects(line).Select(Of).OfType<IndexedMessage>());
            }
        }

        return indexed;
    }

    /// <summary>The indexed form of one entry, or null when it has no words or is not a shown user/assistant entry.</summary>
    public static IndexedMessage? Of(JsonObject entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var role = JsText.Str(entry, "type");
        var uuid = JsText.Str(entry, "uuid");
        if (role is not ("user" or "assistant") || uuid is null || JsText.Truthy(entry, "isMeta") || JsText.Truthy(entry, "isSidechain"))
        {
            return null;
        }

        var text = new StringBuilder();
        Append(text, (entry["message"] as JsonObject)?["content"]);
        if (text.Length == 0)
        {
            return null;
        }

        var words = text.ToString().Trim();
        return new IndexedMessage(uuid, role, JsText.ParseTimestamp(JsText.Str(entry, "timestamp")), words.Length > MaxChars ? words[..MaxChars] : words);
    }

    private static void Append(StringBuilder text, JsonNode? content)
    {
        switch (content)
        {
            case JsonValue v when v.TryGetValue<string>(out var s):
                Line(text, s);
                break;
            case JsonArray blocks:
                foreach (var block in blocks.OfType<JsonObject>())
                {
                    switch (JsText.Str(block, "type"))
                    {
                        case "text":
                            Line(text, JsText.Str(block, "text"));
                            break;
                        case "tool_use":
                            Line(text, JsText.Str(block, "name"));
                            Line(text, Input(block["input"]));
                            break;
                        case "tool_result":
                            Append(text, block["content"]);
                            break;
                    }
                }

                break;
        }
    }

    // A tool's input as a person reads it: string values as they are, anything else as JSON without escapes.
    private static string? Input(JsonNode? input) => input switch
    {
        null => null,
        JsonObject o => string.Join('\n', o.Select(p => p.Value is JsonValue v && v.TryGetValue<string>(out var s) ? $"{p.Key}: {s}" : $"{p.Key}: {p.Value?.ToJsonString(Readable)}")),
        _ => input.ToJsonString(Readable),
    };

    private static void Line(StringBuilder text, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value) && text.Length < MaxChars)
        {
            text.Append(value).Append('\n');
        }
    }
}
