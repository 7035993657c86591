using System.Net;
using Microsoft.AspNetCore.Authorization;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Server.Auth;

/// <summary>Wires API-key authentication, the scope policies, and the rule that an open server listens on loopback only.</summary>
internal static class AuthRegistration
{
    public static AuthOptions AddSessionsAuth(this IServiceCollection services, AuthOptions auth)
    {
        if (auth.OperatorKey is { Length: < 32 })
        {
            throw new InvalidOperationException("Sessions:Auth:OperatorKey must be at least 32 characters long.");
        }

        if (auth.ConsoleSignInLifetime <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Sessions:Auth:ConsoleSignInLifetime must be a positive time span (e.g. 12:00:00), not {auth.ConsoleSignInLifetime}.");
        }

        services.AddSingleton(auth);
        services.AddSingleton<ApiKeyValidator>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(SessionsClaims.ReadOrWritePolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c =>
                c.Resource is HttpContext http && SessionsClaims.Has(c.User, SessionsClaims.ScopeFor(http.Request.Method)) && c.User.HasClaim(x => x.Type == SessionsClaims.Tenant)))
            .AddPolicy(SessionsClaims.AdminPolicy, p => p.RequireAuthenticatedUser().RequireAssertion(c =>
                SessionsClaims.Has(c.User, ApiScopes.Admin) && c.User.HasClaim(x => x.Type == SessionsClaims.Tenant)))
            .AddPolicy(SessionsClaims.OperatorPolicy, p => p.RequireAuthenticatedUser().RequireClaim(SessionsClaims.Scope, SessionsClaims.OperatorScope));
        return auth;
    }

    /// <summary>Host names an open server answers to (<see cref="RestrictOpenServerHosts"/>).</summary>
    public static readonly IReadOnlyList<string> OpenServerHosts = ["localhost", "*.localhost", "127.0.0.1", "[::1]"];

    /// <summary>
    /// An open server (no keys) answers only requests whose <c>Host</c> is a loopback name (<see cref="OpenServerHosts"/>):
    /// a web page of another site that rebinds its own name to 127.0.0.1 (DNS rebinding) still sends that name, and gets
    /// 400 instead of every session. ASP.NET Core's host filtering does the check; an <c>AllowedHosts</c> setting of the
    /// operator's own wins.
    /// </summary>
    public static void RestrictOpenServerHosts(this IServiceCollection services, AuthOptions auth, IConfiguration configuration)
    {
        if (!auth.KeysRequired && string.IsNullOrEmpty(configuration["AllowedHosts"]))
        {
            services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts = [.. OpenServerHosts]);
        }
    }

    /// <summary>
    /// Refuses to start an open server (no keys) on anything but loopback: bound to any other address, every tenant's
    /// sessions would be one header away from anyone on the network.
    /// </summary>
    /// <exception cref="InvalidOperationException">Keys are off and a listen address is not loopback.</exception>
    public static void EnsureSafeBinding(AuthOptions auth, IEnumerable<string> urls)
    {
        if (auth.KeysRequired)
        {
            return;
        }

        foreach (var url in urls)
        {
            if (!IsLoopback(url))
            {
                throw new InvalidOperationException(
                    $"Refusing to start: listening on '{url}' without API keys would expose every tenant. Set Sessions:Auth:OperatorKey (env Sessions__Auth__OperatorKey) or listen on 127.0.0.1.");
            }
        }
    }

    private static bool IsLoopback(string url)
    {
        var host = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        host = host.Split('/')[0];
        if (host.StartsWith('['))
        {
            host = host[1..host.IndexOf(']', StringComparison.Ordinal)];
        }
        else if (host.LastIndexOf(':') is var colon and > 0)
        {
            host = host[..colon];
        }

        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }
}
