using System.Text;

namespace Sessions.Cluster.Core.Sdk;

/// <summary>The project key Claude Code and the SDK derive from a working directory.</summary>
public static class ProjectKeys
{
    /// <summary>Longest sanitized key kept whole (the SDK's <c>Kr</c>): 200 characters.</summary>
    public const int MaxSanitizedLength = 200;

    /// <summary>
    /// Mirrors the SDK's <c>la</c>: every character outside <c>[a-zA-Z0-9]</c> becomes <c>-</c>; a key longer than 200
    /// characters is cut to 200 and followed by <c>-</c> and the base-36 of the absolute 32-bit string hash of the path
    /// (JavaScript's <c>(h &lt;&lt; 5) - h + charCode | 0</c> over UTF-16 code units).
    /// </summary>
    /// <param name="cwd">The working directory, as Claude Code saw it.</param>
    public static string FromCwd(string cwd)
    {
        ArgumentNullException.ThrowIfNull(cwd);
        var sanitized = new StringBuilder(cwd.Length);
        foreach (var c in cwd)
        {
            sanitized.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        if (sanitized.Length <= MaxSanitizedLength)
        {
            return sanitized.ToString();
        }

        var hash = 0;
        foreach (var c in cwd)
        {
            hash = unchecked((hash << 5) - hash + c);
        }

        return $"{sanitized.ToString(0, MaxSanitizedLength)}-{Base36(Math.Abs((long)hash))}";
    }

    private static string Base36(long value)
    {
        const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        if (value == 0)
        {
            return "0";
        }

        var result = new StringBuilder();
        for (; value > 0; value /= 36)
        {
            result.Insert(0, Digits[(int)(value % 36)]);
        }

        return result.ToString();
    }
}
