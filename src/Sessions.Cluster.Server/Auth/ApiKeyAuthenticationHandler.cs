using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Sessions.Cluster.Server.Auth;

/// <summary>
/// Resolves every request's tenant and scopes from its API key (<c>Authorization: Bearer &lt;key&gt;</c>). Tenant keys
/// are looked up in the catalog on every request, so a revoked key fails at once on every node. Nothing about the key
/// is logged. Challenges and refusals answer RFC 7807 problem details.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ApiKeyValidator keys, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.KeysRequired)
        {
            // Open mode (loopback only): the caller names its tenant.
            var tenant = Request.Headers["X-Sessions-Tenant"].ToString();
            return Success(ApiKeyValidator.Open(string.IsNullOrEmpty(tenant) ? "default" : tenant, SchemeName));
        }

        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await keys.ValidateAsync(header["Bearer ".Length..].Trim(), SchemeName, Context.RequestAborted).ConfigureAwait(false);
        return principal is null ? AuthenticateResult.Fail("The API key is not valid.") : Success(principal);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblemAsync(StatusCodes.Status401Unauthorized, "unauthenticated", "A valid API key is required: send 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblemAsync(StatusCodes.Status403Forbidden, "forbidden", "This API key does not have the scope this request needs.");

    private static AuthenticateResult Success(ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));

    private async Task WriteProblemAsync(int status, string code, string detail)
    {
        Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = status == 401 ? "Unauthenticated" : "Forbidden", Detail = detail, Type = $"https://sessions.cluster/problems/{code}" };
        problem.Extensions["code"] = code;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = problem }).ConfigureAwait(false);
    }
}
