using System.Security.Cryptography;
using System.Text;

namespace Sessions.Cluster.Core.Tenants;

/// <summary>
/// API key format and hashing: <c>sc_&lt;keyId&gt;_&lt;secret&gt;</c>, a 12-hex-digit public id and 32 random bytes
/// (base64url). Only SHA-256 of the secret is stored (a random 256-bit secret needs no slow hash); it is compared in
/// constant time. The plain key is shown once, when issued.
/// </summary>
public static class ApiKeys
{
    private const string Prefix = "sc_";

    /// <summary>A new key: the plain text to hand out once, its id, and the hash to store.</summary>
    public static (string Key, string KeyId, string SecretHash) Generate()
    {
        var keyId = Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return ($"{Prefix}{keyId}_{secret}", keyId, Hash(secret));
    }

    /// <summary>Splits a presented key into id and secret; false when it is not of our format.</summary>
    public static bool TryParse(string? presented, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (string.IsNullOrEmpty(presented) || presented.Length > 200 || !presented.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = presented[Prefix.Length..];
        var sep = rest.IndexOf('_', StringComparison.Ordinal);
        if (sep != 12 || rest.Length <= sep + 1 || !rest[..sep].All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        keyId = rest[..sep];
        secret = rest[(sep + 1)..];
        return true;
    }

    /// <summary>SHA-256 of a secret, lowercase hex.</summary>
    public static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret))).ToLowerInvariant();

    /// <summary>Whether <paramref name="secret"/> hashes to <paramref name="storedHash"/>, in constant time.</summary>
    public static bool Matches(string secret, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(storedHash));
}
