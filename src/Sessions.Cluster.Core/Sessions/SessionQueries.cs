using System.Runtime.CompilerServices;
using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The catalog reads any node runs without a session's grain: SessionStore <c>listSessions</c> and
/// <c>listSessionSummaries</c>, the SDK's <c>listSessions</c> pages, "continue" (the latest session of a project), the
/// tenant's projects, search and lookup by id. Nothing here writes; a session's own answers (info, messages, context,
/// subkeys) come from its grain, and every write goes through it.
/// </summary>
/// <param name="catalog">The catalog.</param>
public sealed class SessionQueries(ISessionCatalog catalog)
{
    /// <summary>Whether content search answers (true, the default); false when the server indexes no content (<see cref="SessionService.IndexContent"/>).</summary>
    public bool ContentSearch { get; init; } = true;

    /// <summary>SessionStore <c>listSessions</c>: (sessionId, mtime) of main transcripts only.</summary>
    public async IAsyncEnumerable<(string SessionId, long Mtime)> ListSessionMtimesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        await foreach (var item in catalog.ListMtimesAsync(tenant, projectKey, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>SessionStore <c>listSessionSummaries</c>: the opaque sidecars, verbatim.</summary>
    public IAsyncEnumerable<SummaryRecord> ListSummariesAsync(string tenant, string projectKey, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        return catalog.ListSummariesAsync(tenant, projectKey, cancellationToken);
    }

    /// <summary>A page of the SDK's <c>listSessions</c> for a project (newest first), with filters on tag and text.</summary>
    public async Task<SessionPage> ListAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken)
    {
        CheckListing(tenant, projectKey, query);
        return await catalog.ListAsync(tenant, projectKey, query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <see cref="ListAsync"/> with each row as the listing's JSON: the renderings the catalog stored with its rows when
    /// it keeps them (embedded), else the page's rows rendered now by <paramref name="render"/>.
    /// </summary>
    public async Task<RenderedPage> ListRenderedAsync(string tenant, string projectKey, SessionQuery query, Func<SessionRecord, byte[]> render, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(render);
        CheckListing(tenant, projectKey, query);
        if (await catalog.ListRenderedAsync(tenant, projectKey, query, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            return stored;
        }

        var page = await catalog.ListAsync(tenant, projectKey, query, cancellationToken).ConfigureAwait(false);
        return new RenderedPage(page.Items.Select(render).ToList(), page.NextCursor);
    }

    private static void CheckListing(string tenant, string projectKey, SessionQuery query)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        if (query.Limit is < 1 or > 1000)
        {
            throw new InvalidRequestException("invalid_limit", "limit must be between 1 and 1000.");
        }
    }

    /// <summary>The tenant's projects with session counts, last activity and cwd, most recently active first.</summary>
    public Task<IReadOnlyList<ProjectSummary>> ListProjectsAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        return catalog.ListProjectsAsync(tenant, cancellationToken);
    }

    /// <summary>
    /// Sessions of every project whose title, summary, first prompt or tag contains <paramref name="text"/>, or whose id
    /// starts with it; newest first.
    /// </summary>
    /// <exception cref="InvalidRequestException">The text is empty or over 200 characters, or the limit is not 1–1000.</exception>
    public Task<IReadOnlyList<SessionRecord>> SearchAsync(string tenant, string text, int limit, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        if (string.IsNullOrWhiteSpace(text) || text.Length > 200)
        {
            throw new InvalidRequestException("invalid_query", "Search text must be 1 to 200 characters.");
        }

        if (limit is < 1 or > 1000)
        {
            throw new InvalidRequestException("invalid_limit", "limit must be between 1 and 1000.");
        }

        return catalog.SearchAsync(tenant, text, limit, cancellationToken);
    }

    /// <summary>Every session with this id in any project key of the tenant, newest first.</summary>
    public Task<IReadOnlyList<SessionRecord>> FindAsync(string tenant, string sessionId, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateSessionId(sessionId);
        return catalog.FindAsync(tenant, sessionId, cancellationToken);
    }

    /// <summary>A session's catalog row, listed or not, or null when the catalog has none.</summary>
    /// <exception cref="InvalidKeyException">The tenant, project key or session id is not safe.</exception>
    public Task<SessionRecord?> GetRowAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        KeyRules.ValidateSessionId(sessionId);
        return catalog.GetAsync(tenant, projectKey, sessionId, cancellationToken);
    }

    /// <summary>The forks of some sessions of a project, newest first (see <see cref="ISessionCatalog.ListForksAsync"/>).</summary>
    /// <exception cref="InvalidKeyException">The tenant or project key is not safe.</exception>
    public Task<IReadOnlyList<SessionRecord>> ListForksAsync(string tenant, string projectKey, IReadOnlyCollection<string> parentSessionIds, int limit, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.ValidateProjectKey(projectKey);
        return catalog.ListForksAsync(tenant, projectKey, parentSessionIds, limit, cancellationToken);
    }

    /// <summary>"Continue": the most recent non-sidechain session of a project by mtime.</summary>
    /// <exception cref="NotFoundException">The project has no session.</exception>
    public async Task<SessionRecord> GetLatestAsync(string tenant, string projectKey, CancellationToken cancellationToken)
    {
        var page = await ListAsync(tenant, projectKey, new SessionQuery(Limit: 1), cancellationToken).ConfigureAwait(false);
        return page.Items.Count > 0 ? page.Items[0] : throw new NotFoundException("session_not_found", $"Project '{projectKey}' has no session to continue.");
    }

    /// <summary>
    /// Content search over the tenant's sessions (of one project when given): sessions ranked by how well their
    /// messages match <paramref name="text"/> (<see cref="SearchQuery"/>'s syntax), each with its best matching messages.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="text">The query.</param>
    /// <param name="projectKey">A project key, or null for every project.</param>
    /// <param name="limit">Sessions per page, 1–100.</param>
    /// <param name="cursor">The previous page's <c>nextCursor</c>, or null.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The page, and the cursor of the next one (null after the last).</returns>
    /// <exception cref="InvalidRequestException">A bad query (<c>invalid_query</c>), limit (<c>invalid_limit</c>), cursor
    /// (<c>invalid_cursor</c>) or project key.</exception>
    public async Task<(IReadOnlyList<SearchHit> Hits, string? NextCursor)> SearchContentAsync(string tenant, string text, string? projectKey, int limit, string? cursor, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        if (projectKey is not null)
        {
            KeyRules.ValidateProjectKey(projectKey);
        }

        if (!ContentSearch)
        {
            throw new NotFoundException("content_search_off", "Content search is off on this server (Sessions:IndexContent is false); GET /v1/sessions?q=… searches titles, prompts and tags.");
        }

        var query = SearchQuery.Parse(text);
        if (limit is < 1 or > 100)
        {
            throw new InvalidRequestException("invalid_limit", "limit must be between 1 and 100.");
        }

        var offset = 0;
        if (cursor is not null && (!int.TryParse(cursor, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset) || offset > 100_000))
        {
            throw new InvalidRequestException("invalid_cursor", "cursor must be a nextCursor of an earlier page.");
        }

        var hits = await catalog.SearchMessagesAsync(tenant, query, projectKey, limit, offset, cancellationToken).ConfigureAwait(false);
        return (hits, hits.Count == limit ? (offset + limit).ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
    }
}
