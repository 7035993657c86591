namespace Sessions.Cluster.Core.Search;

/// <summary>
/// A content search query in the web-search syntax PostgreSQL's <c>websearch_to_tsquery</c> reads, parsed once so
/// every catalog runs the same query: words (all must match), <c>"a phrase"</c>, <c>-word</c> or <c>-"a phrase"</c>
/// (must not match), and <c>OR</c> between two terms (either matches). Matching ignores case and diacritics.
/// </summary>
/// <param name="Text">The query as given.</param>
/// <param name="Groups">Terms joined by AND; each group's alternatives joined by OR; an alternative is a phrase (one or
/// more words).</param>
/// <param name="Excluded">Phrases that must not match.</param>
public sealed record SearchQuery(string Text, IReadOnlyList<IReadOnlyList<IReadOnlyList<string>>> Groups, IReadOnlyList<IReadOnlyList<string>> Excluded)
{
    /// <summary>Longest query, in characters.</summary>
    public const int MaxLength = 200;

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="InvalidRequestException">Code <c>invalid_query</c>: empty, over 200 characters, or nothing to
    /// find (only exclusions, or no word at all).</exception>
    public static SearchQuery Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength)
        {
            throw new InvalidRequestException("invalid_query", $"q must be 1 to {MaxLength} characters: words, \"a phrase\", -excluded, a OR b.");
        }

        var groups = new List<List<IReadOnlyList<string>>>();
        var excluded = new List<IReadOnlyList<string>>();
        var pendingOr = false;
        var lastPositive = false;
        var i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }

            var negated = text[i] == '-';
            if (negated)
            {
                i++;
            }

            string raw;
            if (i < text.Length && text[i] == '"')
            {
                var end = text.IndexOf('"', i + 1);
                raw = end < 0 ? text[(i + 1)..] : text[(i + 1)..end];
                i = end < 0 ? text.Length : end + 1;
            }
            else
            {
                var end = i;
                while (end < text.Length && !char.IsWhiteSpace(text[end]))
                {
                    end++;
                }

                raw = text[i..end];
                i = end;
                if (!negated && raw == "OR" && groups.Count + excluded.Count > 0)
                {
                    // Joins the term before and the term after; after an exclusion it joins nothing (and is no word).
                    pendingOr = lastPositive;
                    continue;
                }
            }

            var words = Words(raw);
            if (words.Count == 0)
            {
                continue;
            }

            lastPositive = !negated;
            if (negated)
            {
                excluded.Add(words);
            }
            else if (pendingOr)
            {
                groups[^1].Add(words);
            }
            else
            {
                groups.Add([words]);
            }

            pendingOr = false;
        }

        return groups.Count == 0
            ? throw new InvalidRequestException("invalid_query", "The query has nothing to find: give at least one word that is not excluded (-word).")
            : new SearchQuery(text, groups, excluded);
    }

    // Letters and digits only (what every catalog's tokenizer keeps); other characters separate words.
    private static List<string> Words(string raw)
    {
        var words = new List<string>();
        var start = -1;
        for (var i = 0; i <= raw.Length; i++)
        {
            var inWord = i < raw.Length && char.IsLetterOrDigit(raw[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                words.Add(raw[start..i].ToLowerInvariant());
                start = -1;
            }
        }

        return words;
    }
}
