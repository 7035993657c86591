using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// What one session's single writer (its grain) keeps of it between calls: one open <see cref="ITranscriptLog"/> per
/// transcript and subpath (each holding its committed length and uuid set), the head and tail windows behind the
/// catalog row, and the answers of appends that carried an idempotency key. An ephemeral session's logs are in a
/// memory store of its own. Made by <see cref="SessionService.Open"/>; it lives as long as the grain's activation
/// (Orleans' activation collection is its eviction) and is learnt again from storage by the next one.
/// </summary>
/// <remarks>Not thread-safe: its holder makes one write at a time (the grain's turn).</remarks>
public sealed class SessionState
{
    private readonly Dictionary<string, ITranscriptLog> _logs = new(StringComparer.Ordinal);
    private readonly SessionKey _main;
    private ITranscriptStore _store;

    internal SessionState(string tenant, string projectKey, string sessionId, ITranscriptStore store)
    {
        Tenant = tenant;
        ProjectKey = projectKey;
        SessionId = sessionId;
        _main = new SessionKey(projectKey, sessionId);
        _store = store;
    }

    /// <summary>The tenant.</summary>
    public string Tenant { get; }

    /// <summary>The project key.</summary>
    public string ProjectKey { get; }

    /// <summary>The session id.</summary>
    public string SessionId { get; }

    /// <summary>Whether the session lives only in this state's memory (never written to the transcript store).</summary>
    public bool Ephemeral { get; private set; }

    /// <summary>The store the session's logs are in: the durable one, or an ephemeral session's own memory store.</summary>
    internal ITranscriptStore Store => _store;

    /// <summary>The main transcript's head and tail windows as of its last append through this state, or null.</summary>
    internal TranscriptWindows? Windows { get; set; }

    /// <summary>
    /// The main transcript's models and token totals through <see cref="SessionUsage.Through"/>, folded forward by each
    /// append through this state, or null (not counted yet this activation: the next append starts from the catalog row's).
    /// </summary>
    internal SessionUsage? Usage { get; set; }

    /// <summary>
    /// The session's catalog row as this state last wrote or read it (computed once, when first asked), or null: the
    /// grain answers <c>getSessionInfo</c> from it without a catalog read.
    /// </summary>
    internal Lazy<SessionRecord>? Row { get; set; }

    /// <summary>
    /// Whether this state's writer noted durably that it may hold the session's row back (the first row of the grain's
    /// activation went through with the note; see <see cref="WriteBehindCatalog.MarksRows"/>), so the note is removed
    /// when the activation ends.
    /// </summary>
    internal bool RowMarked { get; set; }

    /// <summary>
    /// The session's summary sidecar as this state last wrote or read it (null: not known, or none), kept only where the
    /// catalog writes behind (<see cref="WriteBehindCatalog"/>), whose sidecar's single writer this state's holder is:
    /// its compare-and-swap is then decided without a catalog read. Forgotten by a delete, a move to or from the trash and
    /// a refused write.
    /// </summary>
    internal SummaryRecord? Summary { get; set; }

    /// <summary>
    /// The catalog row and sidecar this session's writer holds back, not yet written (where the catalog writes behind,
    /// <see cref="WriteBehindCatalog"/>): the session's pending catalog writes live with the session, not in a table of
    /// the process.
    /// </summary>
    internal HeldCatalogWrites HeldWrites { get; } = new();

    /// <summary>Answers of appends that carried an idempotency key (see <see cref="IdempotencyKeys"/>).</summary>
    internal IdempotencyKeys Answers { get; } = new();

    /// <summary>The key of the main transcript (null) or a subpath (checked here: the main key was checked once, when the state was made).</summary>
    /// <exception cref="InvalidKeyException">The subpath is not safe.</exception>
    public SessionKey Key(string? subpath) => subpath is null ? _main : _main with { Subpath = subpath };

    /// <summary>The open log of the main transcript (null) or a subpath, opened on first use and kept.</summary>
    internal ITranscriptLog Log(string? subpath)
    {
        var name = subpath ?? "";
        if (!_logs.TryGetValue(name, out var log))
        {
            log = _store.Open(Tenant, Key(subpath));
            _logs[name] = log;
        }

        return log;
    }

    /// <summary>Makes the session ephemeral before its first write: from now on its logs are in a memory store of its own.</summary>
    internal void MakeEphemeral(TimeProvider timeProvider)
    {
        if (!Ephemeral)
        {
            Ephemeral = true;
            _store = new MemoryTranscriptStore(timeProvider);
            _logs.Clear();
            ForgetRow();
        }
    }

    /// <summary>Forgets the main transcript's windows, usage and catalog row (a delete, a move to the trash, a failed refresh).</summary>
    internal void ForgetRow()
    {
        Windows = null;
        Usage = null;
        Row = null;
    }
}
