namespace Sessions.Cluster.Server.Console.Components;

/// <summary>The console's addresses (every key escaped) and how it formats times and sizes.</summary>
public static class Links
{
    /// <summary>
    /// <paramref name="text"/> as it should be read: every character that is invisible or changes the order of what
    /// follows — bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E/F, U+061C), other format characters (zero-width
    /// space, word joiner, BOM, soft hyphen: Unicode category Cf, except a zero-width joiner inside an emoji sequence),
    /// control characters, line/paragraph separators and the Hangul fillers — is shown as <c>[U+XXXX]</c>, so
    /// "Inv&#x202E;exe.fdp" does not pass for "Invpdf.exe". Used for titles, prompts, ids, project keys, branches, tags
    /// and folders; Blazor encodes the result as text.
    /// </summary>
    public static string Shown(string? text)
    {
        if (string.IsNullOrEmpty(text) || !text.Any(IsHidden))
        {
            return text ?? "";
        }

        var shown = new System.Text.StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var emojiJoiner = c == '\u200D' && i > 0 && char.IsLowSurrogate(text[i - 1]) && i + 1 < text.Length && char.IsHighSurrogate(text[i + 1]);
            if (IsHidden(c) && !emojiJoiner)
            {
                shown.Append("[U+").Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture)).Append(']');
            }
            else
            {
                shown.Append(c);
            }
        }

        return shown.ToString();
    }

    /// <summary>Whether <see cref="Shown"/> makes <paramref name="c"/> visible (it is invisible or reorders text).</summary>
    public static bool IsHidden(char c) =>
        char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.Control
            or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator
        || c is '\u115F' or '\u1160' or '\u3164' or '\uFFA0';

    /// <summary>The projects page.</summary>
    public const string Home = "/";

    /// <summary>A project's sessions, optionally filtered.</summary>
    public static string Project(string projectKey, string? tag = null, string? text = null, string? cursor = null)
    {
        var query = string.Join("&", new[] { ("tag", tag), ("q", text), ("cursor", cursor) }
            .Where(p => !string.IsNullOrEmpty(p.Item2)).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}"));
        return $"/console/projects/{E(projectKey)}" + (query.Length > 0 ? "?" + query : "");
    }

    /// <summary>The latest session of a project (the SDK's "continue").</summary>
    public static string Latest(string projectKey) => $"/console/projects/{E(projectKey)}/latest";

    /// <summary>A session's transcript, from message <paramref name="offset"/>.</summary>
    /// <param name="projectKey">The project key.</param>
    /// <param name="sessionId">The session id.</param>
    /// <param name="offset">The page's first message.</param>
    /// <param name="view"><see cref="ModelView"/> for the SDK's chain (what the model sees), null for the full history.</param>
    /// <param name="at">A message uuid: the page holding it, scrolled to it.</param>
    /// <param name="q">A text searched for in the transcript: its hits are listed and highlighted.</param>
    public static string Session(string projectKey, string sessionId, int offset = 0, string? view = null, string? at = null, string? q = null)
    {
        var query = string.Join('&', new[]
        {
            view is null ? null : "view=" + E(view),
            string.IsNullOrEmpty(q) ? null : "q=" + E(q),
            offset > 0 ? $"offset={offset}" : null,
            at is null ? null : "at=" + E(at),
        }.Where(p => p is not null));
        return $"/console/projects/{E(projectKey)}/sessions/{E(sessionId)}" + (query.Length > 0 ? "?" + query : "") + (at is null ? "" : "#m-" + E(at));
    }

    /// <summary>The <c>view</c> of a session page that shows the SDK's chain (what the model sees after the last compaction).</summary>
    public const string ModelView = "model";

    /// <summary>A byte count as a person reads it: 1,234,567.</summary>
    public static string Count(long n) => n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A token count in three figures at most: 812, 35.2K, 1.24M, 3.1B.</summary>
    public static string Tokens(long n) => n switch
    {
        < 1_000 => n.ToString(System.Globalization.CultureInfo.InvariantCulture),
        < 1_000_000 => Short(n / 1e3) + "K",
        < 1_000_000_000 => Short(n / 1e6) + "M",
        _ => Short(n / 1e9) + "B",
    };

    private static string Short(double value) =>
        value.ToString(value >= 100 ? "0" : value >= 10 ? "0.#" : "0.##", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A duration as a person reads it: 2 h 05 min, 3 min 20 s, 12 s.</summary>
    public static string Duration(TimeSpan span) => span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes:00} min"
        : span.TotalMinutes >= 1 ? $"{span.Minutes} min {span.Seconds:00} s" : $"{span.Seconds} s";

    /// <summary>A subagent's transcript.</summary>
    public static string Subagent(string projectKey, string sessionId, string agentId) =>
        $"/console/projects/{E(projectKey)}/sessions/{E(sessionId)}/subagents/{E(agentId)}";

    /// <summary>The fork form, at a message or of the whole session.</summary>
    public static string Fork(string projectKey, string sessionId, string? atMessage = null) =>
        $"/console/projects/{E(projectKey)}/sessions/{E(sessionId)}/fork" + (atMessage is null ? "" : $"?at={E(atMessage)}");

    /// <summary>The delete confirmation.</summary>
    public static string Delete(string projectKey, string sessionId) => $"/console/projects/{E(projectKey)}/sessions/{E(sessionId)}/delete";

    /// <summary>The transcript's JSONL.</summary>
    public static string Download(string projectKey, string sessionId) => $"/console/projects/{E(projectKey)}/sessions/{E(sessionId)}/download";

    /// <summary>Search across projects.</summary>
    public static string Search(string? text = null) => "/console/search" + (string.IsNullOrEmpty(text) ? "" : "?q=" + Uri.EscapeDataString(text));

    /// <summary>UTC time of an epoch-millisecond instant, to the minute (or the second), e.g. <c>2026-01-31 14:05 UTC</c>.</summary>
    public static string Time(long? epochMs, bool seconds = false) =>
        epochMs is { } ms and > 0 and < 253402300800000
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString(seconds ? "yyyy-MM-dd HH:mm:ss 'UTC'" : "yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture)
            : "–";

    /// <summary>An entry's ISO-8601 <c>timestamp</c> as an instant, or null when it is not one.</summary>
    public static DateTimeOffset? Instant(string? timestamp) =>
        timestamp is not null && DateTimeOffset.TryParse(timestamp, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
        && at.ToUnixTimeMilliseconds() > 0 ? at : null;

    /// <summary>A byte count in B, KB or MB.</summary>
    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KB",
        _ => $"{bytes / 1024.0 / 1024.0:0.#} MB",
    };

    private static string E(string value) => Uri.EscapeDataString(value);
}
