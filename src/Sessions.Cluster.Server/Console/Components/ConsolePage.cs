using Microsoft.AspNetCore.Components;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Server.Auth;

namespace Sessions.Cluster.Server.Console.Components;

/// <summary>
/// Base of the console's pages: the request (static server rendering), the tenant and scopes of the signed-in key,
/// and the translation of the service's errors into a message on the page with the API's status code. Every action
/// checks the write scope here as well as hiding its controls, so a forged form post with a read-only key is refused.
/// </summary>
public abstract class ConsolePage : ComponentBase
{
    /// <summary>The request being rendered.</summary>
    [CascadingParameter]
    public HttpContext HttpContext { get; set; } = null!;

    /// <summary>The session service (messages and info read at a grain's view).</summary>
    [Inject]
    public SessionService Sessions { get; set; } = null!;

    /// <summary>The catalog reads (listings, search, projects, the latest session).</summary>
    [Inject]
    public SessionQueries Queries { get; set; } = null!;

    /// <summary>The session grains (every write, views of transcripts).</summary>
    [Inject]
    public SessionGrains Grains { get; set; } = null!;

    /// <summary>Navigation (redirects after an action).</summary>
    [Inject]
    public NavigationManager Navigation { get; set; } = null!;

    /// <summary>The error to show instead of (or above) the page's content, if any.</summary>
    protected string? Error { get; private set; }

    /// <summary>The tenant the signed-in key acts for.</summary>
    protected string Tenant => Api.RequestContext.Tenant(HttpContext);

    /// <summary>Whether the key may change sessions (write scope); without it no write control is shown.</summary>
    protected bool CanWrite => SessionsClaims.Has(HttpContext.User, ApiScopes.Write);

    /// <summary>Whether the key manages its tenant (admin scope: holds).</summary>
    protected bool CanAdmin => SessionsClaims.Has(HttpContext.User, ApiScopes.Admin);

    /// <summary>A cancellation token that fires when the browser goes away.</summary>
    protected CancellationToken Aborted => HttpContext.RequestAborted;

    /// <summary>Runs <paramref name="action"/>; a service error becomes <see cref="Error"/> and the response's status.</summary>
    /// <returns>True when it succeeded.</returns>
    protected async Task<bool> TryAsync(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        try
        {
            await action();
            return true;
        }
        catch (SessionsException e)
        {
            Fail(StatusOf(e), e.Message);
            return false;
        }
    }

    /// <summary>Largest transcript read a second time for raw entries and subagent links (bytes); a bigger one shows neither.</summary>
    public const long MaxRawScanBytes = 64L * 1024 * 1024;

    /// <summary>
    /// A transcript's JSONL as committed now, for raw entries and subagent links: empty when it has none or is larger than
    /// <see cref="MaxRawScanBytes"/>.
    /// </summary>
    protected async Task<byte[]> ReadTranscriptAsync(SessionKey key)
    {
        if (await Grains.OpenTranscriptAsync(Tenant, key, Aborted) is not { } opened)
        {
            return [];
        }

        await using var content = opened.Content;
        if (opened.Length > MaxRawScanBytes)
        {
            return [];
        }

        using var copy = new MemoryStream((int)Math.Min(opened.Length, int.MaxValue));
        await content.CopyToAsync(copy, Aborted);
        return copy.ToArray();
    }

    /// <summary>
    /// After a successful action: redirects to <paramref name="path"/> with <c>?done=<paramref name="done"/></c>, and
    /// hands the notice to that page (see <see cref="ConfirmedNotice"/>).
    /// </summary>
    protected void RedirectWithNotice(string path, string done)
    {
        HttpContext.RequestServices.GetRequiredService<ConsoleKeyCookie>().PassNotice(HttpContext, path, done);
        Navigation.NavigateTo(path + "?done=" + Uri.EscapeDataString(done));
    }

    /// <summary>
    /// The page's <c>?done=</c> value when this server's redirect after an action handed it over, null otherwise (a link
    /// with <c>?done=forked</c> made by anyone else shows no false notice). Call once per request.
    /// </summary>
    protected string? ConfirmedNotice(string? done) =>
        HttpContext.RequestServices.GetRequiredService<ConsoleKeyCookie>().TakeNotice(HttpContext, done);

    /// <summary>Refuses an action the key's scopes do not allow (403), as the API would.</summary>
    /// <returns>True when the key holds <paramref name="scope"/>.</returns>
    protected bool Allowed(string scope)
    {
        if (SessionsClaims.Has(HttpContext.User, scope))
        {
            return true;
        }

        Fail(StatusCodes.Status403Forbidden, $"This API key does not have the '{scope}' scope this action needs.");
        return false;
    }

    /// <summary>Shows <paramref name="message"/> and answers with <paramref name="status"/>.</summary>
    protected void Fail(int status, string message)
    {
        Error = message;
        ConsoleStatus.Set(HttpContext, status);
    }

    private static int StatusOf(SessionsException e) => e switch
    {
        NotFoundException => StatusCodes.Status404NotFound,
        ForbiddenException => StatusCodes.Status403Forbidden,
        LimitExceededException limit => limit.Status,
        ConflictException => StatusCodes.Status409Conflict,
        StorageUnavailableException or ClusterUnavailableException => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status400BadRequest,
    };
}
