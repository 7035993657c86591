namespace Sessions.Cluster.Server.Console;

/// <summary>
/// Quotes a value for a POSIX shell (bash, zsh, dash), so a command the console offers to copy runs with exactly that
/// argument: session ids and project keys are opaque and may hold <c>$()</c>, <c>;</c>, backticks or <c>&amp;</c>.
/// </summary>
public static class ShellQuote
{
    /// <summary>
    /// <paramref name="value"/> as it is when it holds only <c>[A-Za-z0-9._-]</c> (and does not start with <c>-</c>),
    /// else in single quotes with each <c>'</c> written <c>'\''</c>. A value with invisible or reordering characters
    /// (<see cref="Components.Links.IsHidden"/>: bidi controls, zero-width spaces …) is written in ANSI-C quotes
    /// instead (<c>$'…\u202e…'</c>, bash and zsh), so the pasted command shows every character it passes.
    /// </summary>
    public static string Posix(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > 0 && value[0] != '-' && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            return value;
        }

        if (value.Any(Components.Links.IsHidden))
        {
            var quoted = new System.Text.StringBuilder("$'", value.Length + 16);
            foreach (var c in value)
            {
                quoted.Append(c switch
                {
                    '\\' => "\\\\",
                    '\'' => "\\'",
                    _ when Components.Links.IsHidden(c) => $"\\u{(int)c:x4}",
                    _ => c.ToString(),
                });
            }

            return quoted.Append('\'').ToString();
        }

        return "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
