using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Server.Auth;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// Authenticates the web console's pages: the key of <see cref="ConsoleKeyCookie"/>, checked like a bearer key by
/// <see cref="ApiKeyValidator"/> (same scopes, same immediate revocation). An open (loopback) server needs no key and
/// acts for the <c>default</c> tenant. Unauthenticated page requests are sent to the sign-in form; the API never
/// accepts this cookie (its routes authenticate with the bearer scheme only), so the cookie cannot be used for
/// cross-site requests against the API.
/// </summary>
internal sealed class ConsoleAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyValidator keys, ConsoleKeyCookie cookie)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Console";

    /// <summary>The tenant an open server's console acts for.</summary>
    public const string OpenTenant = "default";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!keys.KeysRequired)
        {
            return Success(ApiKeyValidator.Open(OpenTenant, SchemeName));
        }

        if (await cookie.ReadAsync(Context).ConfigureAwait(false) is not { } key)
        {
            return AuthenticateResult.NoResult();
        }

        var principal = await keys.ValidateAsync(key, SchemeName, Context.RequestAborted).ConfigureAwait(false);
        return principal is null ? AuthenticateResult.Fail("The signed-in API key is no longer valid.") : Success(principal);
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var back = Request.PathBase + Request.Path + Request.QueryString;
        Response.Redirect($"/console/signin?returnUrl={Uri.EscapeDataString(back)}");
        return Task.CompletedTask;
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (Context.User.HasClaim(SessionsClaims.Scope, SessionsClaims.OperatorScope) && !Context.User.HasClaim(c => c.Type == SessionsClaims.Tenant))
        {
            // The operator has no tenant's sessions to see: its pages are the tenants.
            Response.Redirect("/console/operator");
            return;
        }

        Response.StatusCode = StatusCodes.Status403Forbidden;
        Response.ContentType = "text/plain; charset=utf-8";
        await Response.WriteAsync("This API key may not use this page.").ConfigureAwait(false);
    }

    private static AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal principal) =>
        AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
}
