using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.DataProtection;
using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Server.Auth;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// Wires the web console: server-rendered Razor components (static SSR: no script at all, forms posted with
/// anti-forgery tokens), the sign-in cookie scheme, the stylesheet, the JSONL download and the security headers of
/// every console response. The console lives at <c>/</c> and <c>/console/…</c>; the API's routes are untouched.
/// </summary>
internal static class ConsoleRegistration
{
    /// <summary>Policy of the tenant's pages: a tenant key (or the open server) with the read scope.</summary>
    public const string ReadPolicy = "sessions:console";

    /// <summary>Policy of the tenant's admin page (retention, dry run, audit, trash, keys): a tenant key with the admin scope.</summary>
    public const string AdminPolicy = "sessions:console-admin";

    /// <summary>Policy of the operator's pages (tenants and their keys): the operator key.</summary>
    public const string OperatorPolicy = "sessions:console-operator";

    /// <summary>
    /// The console's Content-Security-Policy: scripts only from the server itself (its own <c>console.js</c>; nothing
    /// inline, no eval), styles and images only from it too (images also as data: URIs, for a transcript's inline
    /// images), no requests from script, forms post only to it, and it may not be framed.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private const string SelectorScheme = "Sessions";

    private static readonly Lazy<byte[]> Stylesheet = new(() => Embedded("console.css"));

    private static readonly Lazy<byte[]> Script = new(() => Embedded("console.js"));

    private static readonly Lazy<byte[]> Icon = new(() => Embedded("icon.svg"));

    private static byte[] Embedded(string name)
    {
        using var stream = typeof(ConsoleRegistration).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The console's {name} is not embedded in the server assembly.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Registers the console's services.</summary>
    /// <param name="services">The server's services.</param>
    /// <param name="keysFolder">Embedded: the folder of the data-protection key ring (it encrypts the sign-in cookie and
    /// the anti-forgery tokens), so they survive a restart.</param>
    /// <param name="keysContainer">Cluster: the blob container every node keeps the key ring in, so a browser's requests
    /// may reach any node.</param>
    public static void AddSessionsConsole(this IServiceCollection services, string? keysFolder, Azure.Storage.Blobs.BlobContainerClient? keysContainer)
    {
        services.AddRazorComponents();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "sessions_console_csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
        });
        var protection = services.AddDataProtection().SetApplicationName("Sessions.Cluster");
        if (keysFolder is not null)
        {
            protection.PersistKeysToFileSystem(new DirectoryInfo(keysFolder));
        }

        if (keysContainer is not null)
        {
            services.Configure<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>(o => o.XmlRepository = new BlobKeyRing(keysContainer));
        }

        services.AddSingleton<ConsoleKeyCookie>();
        // The session grains build the console's model of a transcript with it (once per version) and answer pages.
        services.AddSingleton<Core.Sessions.ITranscriptReader, ConsoleTranscriptReader>();
        services.AddHostedService<ConsoleMarkdownWarmup>();
        // Console paths authenticate with the sign-in cookie, every other path with the bearer key only: the cookie never
        // authenticates an API call, and a console page (sign-in and sign-out included) always sees its own user, which
        // the anti-forgery tokens are bound to.
        services.AddAuthentication(SelectorScheme)
            .AddScheme<AuthenticationSchemeOptions, ConsoleAuthenticationHandler>(ConsoleAuthenticationHandler.SchemeName, null)
            .AddPolicyScheme(SelectorScheme, null, o => o.ForwardDefaultSelector = context =>
                IsConsolePath(context.Request.Path) ? ConsoleAuthenticationHandler.SchemeName : ApiKeyAuthenticationHandler.SchemeName);
        services.AddAuthorizationBuilder()
            .AddPolicy(ReadPolicy, p => p.AddAuthenticationSchemes(ConsoleAuthenticationHandler.SchemeName).RequireAuthenticatedUser()
                .RequireAssertion(c => SessionsClaims.Has(c.User, ApiScopes.Read) && c.User.HasClaim(x => x.Type == SessionsClaims.Tenant)))
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(ConsoleAuthenticationHandler.SchemeName).RequireAuthenticatedUser()
                .RequireAssertion(c => SessionsClaims.Has(c.User, ApiScopes.Admin) && c.User.HasClaim(x => x.Type == SessionsClaims.Tenant)))
            .AddPolicy(OperatorPolicy, p => p.AddAuthenticationSchemes(ConsoleAuthenticationHandler.SchemeName).RequireAuthenticatedUser()
                .RequireClaim(SessionsClaims.Scope, SessionsClaims.OperatorScope));
    }

    /// <summary>
    /// Adds the console's security headers to its responses (call before the endpoints run). They are set as the
    /// response starts, so error answers (the exception handler clears the headers of a failed page or download) carry
    /// them too; an endpoint's own <c>Cache-Control</c> (the stylesheet's) is kept.
    /// </summary>
    public static void UseConsoleHeaders(this WebApplication app) => app.Use((context, next) =>
    {
        if (IsConsolePath(context.Request.Path))
        {
            // Set now as well: anti-forgery would set them itself on pages with forms (and log a warning each time).
            context.Response.Headers.CacheControl = "no-cache, no-store";
            context.Response.Headers.Pragma = "no-cache";
            context.Response.OnStarting(static state =>
            {
                var headers = ((HttpResponse)state).Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                if (string.IsNullOrEmpty(headers.CacheControl))
                {
                    headers.CacheControl = "no-cache, no-store";
                    headers.Pragma = "no-cache";
                }

                return Task.CompletedTask;
            }, context.Response);
        }

        return next(context);
    });

    private static void MapAsset(WebApplication app, string path, Lazy<byte[]> content, string contentType) =>
        app.MapGet(path, (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Bytes(content.Value, contentType);
        }).AllowAnonymous().ExcludeFromDescription();

    /// <summary>Maps the console's pages, stylesheet, script, icon and download.</summary>
    public static void MapSessionsConsole(this WebApplication app)
    {
        MapAsset(app, "/console/console.css", Stylesheet, "text/css; charset=utf-8");
        MapAsset(app, "/console/console.js", Script, "text/javascript; charset=utf-8");
        MapAsset(app, "/favicon.ico", Icon, "image/svg+xml");
        MapAsset(app, "/console/icon.svg", Icon, "image/svg+xml");

        app.MapGet("/console/projects/{projectKey}/sessions/{sessionId}/download", async (HttpContext http, string projectKey, string sessionId, SessionGrains grains, CancellationToken ct) =>
        {
            var tenant = Api.RequestContext.Tenant(http);
            var opened = await grains.OpenTranscriptAsync(tenant, new Core.SessionKey(projectKey, sessionId), ct).ConfigureAwait(false)
                ?? throw new Core.NotFoundException("session_not_found", $"Session '{sessionId}' was not found in project '{projectKey}'.");
            // Results.Stream disposes the transcript's stream once it is sent.
            return Results.Stream(opened.Content, "application/x-ndjson", $"{sessionId}.jsonl");
        }).RequireAuthorization(ReadPolicy).ExcludeFromDescription();

        // Each page names its policy ([Authorize] in the folders' _Imports.razor); sign-in and sign-out allow anyone.
        app.MapRazorComponents<Components.App>().ExcludeFromDescription();
    }

    private static bool IsConsolePath(PathString path) =>
        path == "/" || path.StartsWithSegments("/console", StringComparison.OrdinalIgnoreCase);
}
