using System.Globalization;
using System.Text;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The opaque keyset cursor of session listings: the (mtime, sessionId) of the last row of a page, base64url-encoded.
/// Every catalog uses it, so a cursor from one node works on any other.
/// </summary>
public static class CatalogCursor
{
    /// <summary>Encodes the position after a row.</summary>
    public static string Encode(long mtime, string sessionId) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{mtime.ToString(CultureInfo.InvariantCulture)}\n{sessionId}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Decodes a cursor.</summary>
    /// <exception cref="InvalidRequestException">The cursor is not one a catalog produced (code <c>invalid_cursor</c>).</exception>
    public static (long Mtime, string SessionId) Decode(string cursor)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + ((4 - (b64.Length % 4)) % 4), '=');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            var nl = text.IndexOf('\n', StringComparison.Ordinal);
            if (nl > 0 && long.TryParse(text.AsSpan(0, nl), NumberStyles.None, CultureInfo.InvariantCulture, out var mtime) && nl + 1 < text.Length)
            {
                return (mtime, text[(nl + 1)..]);
            }
        }
        catch (FormatException)
        {
        }

        throw new InvalidRequestException("invalid_cursor", "The cursor is not one this server produced.");
    }
}
