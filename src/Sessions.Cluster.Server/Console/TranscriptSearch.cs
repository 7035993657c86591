using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Server.Console;

/// <summary>The messages of one transcript view that hold a search text, in order (<see cref="TranscriptSearch.Find"/>).</summary>
/// <param name="Query">The text searched for (trimmed).</param>
/// <param name="Hits">The messages that hold it, oldest first (at most <see cref="TranscriptSearch.MaxHits"/>).</param>
/// <param name="Matches">How many times the text occurs in those messages.</param>
/// <param name="Truncated">Whether more messages hold it than are listed.</param>
public sealed record TranscriptHits(string Query, IReadOnlyList<TranscriptHit> Hits, int Matches, bool Truncated)
{
    private Dictionary<string, int>? _index;

    /// <summary>The position of a message among <see cref="Hits"/>, or -1 when it holds no hit.</summary>
    public int IndexOf(string uuid)
    {
        _index ??= Hits.Select((h, i) => (h.Uuid, i)).ToDictionary(p => p.Uuid, p => p.i, StringComparer.Ordinal);
        return _index.TryGetValue(uuid, out var i) ? i : -1;
    }
}

/// <summary>One message holding the search text, with its first occurrence in context.</summary>
/// <param name="Uuid">The message shown (a tool result's hit counts for the message holding its call).</param>
/// <param name="Matches">Occurrences in the message (its text, thinking, tool inputs and results).</param>
/// <param name="Before">Up to <see cref="TranscriptSearch.ContextChars"/> characters before the first occurrence, on one line.</param>
/// <param name="Match">The first occurrence, as written.</param>
/// <param name="After">Up to <see cref="TranscriptSearch.ContextChars"/> characters after it, on one line.</param>
public sealed record TranscriptHit(string Uuid, int Matches, string Before, string Match, string After);

/// <summary>
/// Search inside one transcript, on the server: every message of the view (the full history or what the model sees)
/// whose text, thinking, tool input or tool result holds the text, ignoring case. A tool result counts for the message
/// holding its call, where the console shows it. The view is already read for the page, so this is a scan of it, not of
/// the content index (which finds sessions, not positions in one).
/// </summary>
public static class TranscriptSearch
{
    /// <summary>Longest search text, in characters; a longer one is cut.</summary>
    public const int MaxQueryChars = 200;

    /// <summary>Most messages listed.</summary>
    public const int MaxHits = 1000;

    /// <summary>Characters of context each side of a hit.</summary>
    public const int ContextChars = 60;

    /// <summary>The messages of <paramref name="messages"/> holding <paramref name="query"/>, or null for an empty query.</summary>
    /// <param name="messages">The view's entries, oldest first (as <see cref="TranscriptModelBuilder.Build"/> takes them).</param>
    /// <param name="query">The text; trimmed and cut at <see cref="MaxQueryChars"/>.</param>
    public static TranscriptHits? Find(IReadOnlyList<JsonObject> messages, string? query)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = query?.Trim() ?? "";
        if (text.Length == 0)
        {
            return null;
        }

        text = text.Length > MaxQueryChars ? text[..MaxQueryChars] : text;
        var callers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in messages)
        {
            if (Str(entry["uuid"]) is { } uuid && entry["message"]?["content"] is JsonArray content)
            {
                foreach (var block in content)
                {
                    if (block is JsonObject b && Str(b["type"]) == "tool_use" && Str(b["id"]) is { } id)
                    {
                        callers.TryAdd(id, uuid);
                    }
                }
            }
        }

        var order = new List<string>();
        var found = new Dictionary<string, (int Matches, string Before, string Match, string After)>(StringComparer.Ordinal);
        var total = 0;
        foreach (var entry in messages)
        {
            if (Str(entry["uuid"]) is not { } uuid)
            {
                continue;
            }

            foreach (var (target, piece) in Pieces(entry, uuid, callers))
            {
                var count = Count(piece, text, out var first);
                if (count == 0)
                {
                    continue;
                }

                total += count;
                if (found.TryGetValue(target, out var hit))
                {
                    found[target] = hit with { Matches = hit.Matches + count };
                }
                else
                {
                    order.Add(target);
                    found[target] = (count, Context(piece, first - ContextChars, first, true), piece.Substring(first, text.Length), Context(piece, first + text.Length, first + text.Length + ContextChars, false));
                }
            }
        }

        // A result can come before the message of its call is reached in a view that left the call out: keep view order.
        var position = messages.Select((m, i) => (Str(m["uuid"]), i)).Where(p => p.Item1 is not null).GroupBy(p => p.Item1!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().i, StringComparer.Ordinal);
        var hits = order.OrderBy(u => position.GetValueOrDefault(u)).Take(MaxHits)
            .Select(u => new TranscriptHit(u, found[u].Matches, found[u].Before, found[u].Match, found[u].After)).ToList();
        return new TranscriptHits(text, hits, total, order.Count > MaxHits);
    }

    /// <summary>Occurrences of <paramref name="query"/> in <paramref name="text"/> ignoring case, and where the first starts (-1: none).</summary>
    public static int Count(string text, string query, out int first)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(query);
        first = text.IndexOf(query, StringComparison.OrdinalIgnoreCase);
        var count = 0;
        for (var at = first; at >= 0; at = text.IndexOf(query, at + query.Length, StringComparison.OrdinalIgnoreCase))
        {
            count++;
        }

        return count;
    }

    // The searchable texts of an entry and the message each counts for.
    private static IEnumerable<(string Target, string Text)> Pieces(JsonObject entry, string uuid, Dictionary<string, string> callers)
    {
        switch (entry["message"]?["content"] ?? entry["content"])
        {
            case JsonValue v when Str(v) is { } s:
                yield return (uuid, s);
                break;
            case JsonArray content:
                foreach (var node in content)
                {
                    if (node is not JsonObject block)
                    {
                        continue;
                    }

                    switch (Str(block["type"]))
                    {
                        case "text" when Str(block["text"]) is { } t:
                            yield return (uuid, t);
                            break;
                        case "thinking" when Str(block["thinking"]) is { } t:
                            yield return (uuid, t);
                            break;
                        case "tool_use":
                            foreach (var s in Strings(block["input"], 0))
                            {
                                yield return (uuid, s);
                            }

                            break;
                        case "tool_result":
                            var target = Str(block["tool_use_id"]) is { } id && callers.TryGetValue(id, out var caller) ? caller : uuid;
                            foreach (var s in Strings(block["content"], 0))
                            {
                                yield return (target, s);
                            }

                            break;
                    }
                }

                break;
        }
    }

    // Every string in a JSON value (a tool input's fields, a result's text parts), depth-first; entries are bounded in
    // depth when written, and this stops at 64 levels whatever it is given.
    private static IEnumerable<string> Strings(JsonNode? node, int depth)
    {
        switch (node)
        {
            case JsonValue v when Str(v) is { } s:
                yield return s;
                break;
            case JsonObject o when depth < 64:
                foreach (var (_, child) in o)
                {
                    foreach (var s in Strings(child, depth + 1))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonArray a when depth < 64:
                foreach (var child in a)
                {
                    foreach (var s in Strings(child, depth + 1))
                    {
                        yield return s;
                    }
                }

                break;
        }
    }

    // Context on one line: whitespace runs as one space, cut at a whole character, with an ellipsis where text goes on.
    private static string Context(string text, int start, int end, bool before)
    {
        var (from, to) = (Math.Max(0, start), Math.Min(text.Length, end));
        if (from < to && char.IsLowSurrogate(text[from]))
        {
            from++;
        }

        if (to > from && to < text.Length && char.IsHighSurrogate(text[to - 1]))
        {
            to--;
        }

        var flat = System.Text.RegularExpressions.Regex.Replace(text[from..to], @"\s+", " ");
        return before ? (from > 0 ? "…" : "") + flat : flat + (to < text.Length ? "…" : "");
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
