using Scalar.AspNetCore;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// The API reference a person reads: Scalar (Scalar.AspNetCore) over the server's own OpenAPI document
/// (<c>/openapi/v1.json</c>), at <c>/api/</c>, every file of it served by the server itself (no CDN, no web fonts, no
/// telemetry, no AI chat), under a policy of its own: its scripts only with the nonce Scalar makes for each view.
/// </summary>
public static class ApiReference
{
    /// <summary>Where the reference is served (its page is <c>/api/</c>).</summary>
    public const string Path = "/api";

    /// <summary>
    /// The reference's Content-Security-Policy, <c>{0}</c> standing for the view's nonce: scripts from the server with
    /// that nonce, styles from it and inline (Scalar sets element styles), images and fonts from it or data: URIs, requests
    /// ("try it") only to it, never framed.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self' 'nonce-{0}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>Sends the reference's security headers on its answers (call before the endpoints run).</summary>
    public static void UseApiReferenceHeaders(this WebApplication app) => app.Use((context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(Path, StringComparison.Ordinal))
        {
            context.Response.OnStarting(static state =>
            {
                var http = (HttpContext)state;
                var nonce = http.Items[ScalarOptions.NonceHttpContextItemKey] as string;
                var headers = http.Response.Headers;
                // No nonce (the scripts and other files themselves): nothing inline may run.
                headers.ContentSecurityPolicy = string.Format(System.Globalization.CultureInfo.InvariantCulture, ContentSecurityPolicy, nonce ?? "none");
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                return Task.CompletedTask;
            }, context);
        }

        return next(context);
    });

    /// <summary>Maps the reference at <see cref="Path"/>, open to anyone (the OpenAPI document is).</summary>
    public static void MapApiReference(this WebApplication app) =>
        app.MapScalarApiReference(Path, o =>
        {
            o.WithTitle("Sessions.Cluster API").WithOpenApiRoutePattern("/openapi/{documentName}.json");
            o.DynamicNonce = true;
            o.DefaultFonts = false;
            o.Telemetry = false;
            o.HideClientButton = true;
            // Its AI chat and MCP features would call Scalar's own services.
            o.Agent = new ScalarAgentOptions { Disabled = true };
            o.Mcp = new ScalarMcpOptions { Disabled = true };
        }).AllowAnonymous();
}
