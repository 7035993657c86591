using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Server.Auth;

/// <summary>
/// Resolves every request's tenant and scopes from its API key (<c>Authorization: Bearer &lt;key&gt;</c>). Tenant keys
/// are looked up in the catalog on every request, so a revoked key fails at once on every node. Nothing about the key
/// is logged. Challenges and refusals answer RFC 7807 problem details.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    AuthOptions auth, ITenantDirectory directory, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!auth.KeysRequired)
        {
            // Open mode (loopback only): the caller names its tenant.
            var tenant = Request.Headers["X-Sessions-Tenant"].ToString();
            tenant = string.IsNullOrEmpty(tenant) ? "default" : tenant;
            return Success(tenant, [.. ApiScopes.All], "open");
        }

        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var presented = header["Bearer ".Length..].Trim();
        if (auth.OperatorKey is { } operatorKey && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(ApiKeys.Hash(presented)), System.Text.Encoding.UTF8.GetBytes(ApiKeys.Hash(operatorKey))))
        {
            return Success(null, [.. ApiScopes.All, SessionsClaims.OperatorScope], "operator");
        }

        if (!ApiKeys.TryParse(presented, out var keyId, out var secret))
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        var key = await directory.FindKeyAsync(keyId, Context.RequestAborted).ConfigureAwait(false);
        if (key is null || key.RevokedAt is not null || !ApiKeys.Matches(secret, key.SecretHash))
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }

        return Success(key.Tenant, key.Scopes, key.KeyId);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblemAsync(StatusCodes.Status401Unauthorized, "unauthenticated", "A valid API key is required: send 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "forbidden", "This API key does not have the scope this request needs.");

    private AuthenticateResult Success(string? tenant, IEnumerable<string> scopes, string keyId)
    {
        var claims = new List<Claim> { new(SessionsClaims.KeyId, keyId) };
        if (tenant is not null)
        {
            claims.Add(new Claim(SessionsClaims.Tenant, tenant));
        }

        claims.AddRange(scopes.Select(s => new Claim(SessionsClaims.Scope, s)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    private async Task WriteProblemAsync(int status, string code, string detail)
    {
        Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = status == 401 ? "Unauthenticated" : "Forbidden", Detail = detail, Type = $"https://sessions.cluster/problems/{code}" };
        problem.Extensions["code"] = code;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = problem }).ConfigureAwait(false);
    }
}
