using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Server.Auth;

/// <summary>
/// Turns a presented API key into the principal it acts as: the operator, a tenant key with its scopes, or nothing.
/// Tenant keys are looked up in the catalog on every call, so a revoked key fails at once on every node. Shared by the
/// API's bearer scheme and the web console's cookie scheme, so both accept exactly the same keys.
/// </summary>
internal sealed class ApiKeyValidator(AuthOptions auth, ITenantDirectory directory)
{
    /// <summary>True when requests need keys (an operator key is configured).</summary>
    public bool KeysRequired => auth.KeysRequired;

    /// <summary>The principal of a valid key, or null when the key is malformed, unknown, revoked or wrong.</summary>
    /// <param name="presented">The key as the caller sent it.</param>
    /// <param name="scheme">The authentication scheme the identity is issued under.</param>
    /// <param name="cancellationToken">Cancels the catalog lookup.</param>
    public async Task<ClaimsPrincipal?> ValidateAsync(string presented, string scheme, CancellationToken cancellationToken)
    {
        if (auth.OperatorKey is { } operatorKey && CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(ApiKeys.Hash(presented)), Encoding.UTF8.GetBytes(ApiKeys.Hash(operatorKey))))
        {
            return Principal(null, [.. ApiScopes.All, SessionsClaims.OperatorScope], "operator", scheme);
        }

        if (!ApiKeys.TryParse(presented, out var keyId, out var secret))
        {
            return null;
        }

        var key = await directory.FindKeyAsync(keyId, cancellationToken).ConfigureAwait(false);
        return key is null || key.RevokedAt is not null || !ApiKeys.Matches(secret, key.SecretHash)
            ? null
            : Principal(key.Tenant, key.Scopes, key.KeyId, scheme);
    }

    /// <summary>The principal of an open (keyless, loopback-only) server: every scope of one tenant.</summary>
    public static ClaimsPrincipal Open(string tenant, string scheme) => Principal(tenant, [.. ApiScopes.All], "open", scheme);

    private static ClaimsPrincipal Principal(string? tenant, IEnumerable<string> scopes, string keyId, string scheme)
    {
        var claims = new List<Claim> { new(SessionsClaims.KeyId, keyId) };
        if (tenant is not null)
        {
            claims.Add(new Claim(SessionsClaims.Tenant, tenant));
        }

        claims.AddRange(scopes.Select(s => new Claim(SessionsClaims.Scope, s)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }
}
