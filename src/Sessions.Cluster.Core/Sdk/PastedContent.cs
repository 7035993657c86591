namespace Sessions.Cluster.Core.Sdk;

/// <summary>
/// The SDK's <c>c0</c>/<c>mR</c>: replaces <c>&lt;pasted_content id="xxxx"&gt;…&lt;/pasted_content id="xxxx"&gt;</c>
/// wrappers (4 lowercase hex digits) by their body, dropping up to two newlines around each wrapper.
/// </summary>
internal static class PastedContent
{
    private const string Open = "<pasted_content id=\"";

    /// <summary>The text with every well-formed pasted-content wrapper replaced by its body.</summary>
    public static string Unwrap(string e)
    {
        var parts = new List<(bool IsText, string Value)>();
        int n = 0, r = 0;
        while (true)
        {
            var o = e.IndexOf(Open, r, StringComparison.Ordinal);
            if (o == -1)
            {
                break;
            }

            var s = o + Open.Length;
            var id = s + 4 <= e.Length ? e.Substring(s, 4) : e[s..];
            if (!IsHexId(id) || !e.AsSpan(s + 4).StartsWith("\">\n"))
            {
                r = s;
                continue;
            }

            var a = s + 4 + 3;
            var close = $"</pasted_content id=\"{id}\">";
            var d = e.IndexOf("\n" + close, Math.Max(0, a - 1), StringComparison.Ordinal) + 1;
            if (d == 0)
            {
                break;
            }

            var p = o;
            for (var f = 0; f < 2 && p > n && e[p - 1] == '\n'; f++)
            {
                p--;
            }

            if (p > n)
            {
                parts.Add((true, e[n..p]));
            }

            n = d + close.Length;
            for (var f = 0; f < 2 && n < e.Length && e[n] == '\n'; f++)
            {
                n++;
            }

            parts.Add((false, e[a..(d - 1)]));
            r = n;
        }

        if (n < e.Length)
        {
            parts.Add((true, e[n..]));
        }

        if (parts.Count == 1 && parts[0].IsText)
        {
            return e;
        }

        return string.Concat(parts.Select(x => x.Value));
    }

    private static bool IsHexId(string id) => id.Length == 4 && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
