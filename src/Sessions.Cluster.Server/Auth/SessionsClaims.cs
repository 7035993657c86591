using System.Security.Claims;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Server.Auth;

/// <summary>Claims our authentication puts on a request's principal, and the scope policies built on them.</summary>
public static class SessionsClaims
{
    /// <summary>The tenant the request acts for (absent for the operator).</summary>
    public const string Tenant = "sessions/tenant";

    /// <summary>One claim per granted scope.</summary>
    public const string Scope = "sessions/scope";

    /// <summary>The key's public id (<c>operator</c> or <c>open</c> for the special principals), for audit records.</summary>
    public const string KeyId = "sessions/key";

    /// <summary>Scope of the operator key: manage tenants and their keys.</summary>
    public const string OperatorScope = "operator";

    /// <summary>Policy: <c>read</c> for GET/HEAD, <c>write</c> for everything else.</summary>
    public const string ReadOrWritePolicy = "sessions:read-or-write";

    /// <summary>Policy: the tenant's <c>admin</c> scope.</summary>
    public const string AdminPolicy = "sessions:admin";

    /// <summary>Policy: the operator key.</summary>
    public const string OperatorPolicy = "sessions:operator";

    /// <summary>Whether the principal holds a scope.</summary>
    public static bool Has(ClaimsPrincipal user, string scope) => user.HasClaim(Scope, scope);

    /// <summary>The scope a request needs on the read-or-write policy.</summary>
    public static string ScopeFor(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? ApiScopes.Read : ApiScopes.Write;
}
