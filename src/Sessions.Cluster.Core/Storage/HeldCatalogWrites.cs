namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// The catalog writes one session's writer holds back: the newest row refresh and the newest summary sidecar it decided,
/// not yet in the catalog. Owned by the session's state in its grain (<c>SessionState.HeldWrites</c>), so a session's
/// pending writes live where the session does; a <see cref="WriteBehindCatalog"/> only queues it, once, while it holds
/// something, and takes its contents out when it writes them (see <see cref="WriteBehindCatalog.Hold"/>).
/// </summary>
/// <remarks>
/// Thread-safe: the grain puts into it during its turns while the silo's writer takes out of it on another thread. A
/// newer row or sidecar replaces an older one not yet taken (coalescing: a session appended to many times while a write
/// is under way is computed and written once).
/// </remarks>
public sealed class HeldCatalogWrites
{
    private readonly Lock _gate = new();
    private Func<SessionRecord>? _row;
    private TenantSummary? _summary;
    private TenantSummary? _writing;
    private bool _queued;

    /// <summary>Whether a row or a sidecar is held (put and not yet taken by a write).</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _row is null && _summary is null;
            }
        }
    }

    /// <summary>
    /// The newest sidecar decided and not yet known to be in the catalog (held, or taken by a write still under way), or
    /// null: then the catalog has the newest. The compare-and-swap of the sidecar's next write is decided against it.
    /// </summary>
    public SummaryRecord? NewestSummary
    {
        get
        {
            lock (_gate)
            {
                return (_summary ?? _writing)?.Summary;
            }
        }
    }

    // Puts a row and/or a sidecar in (replacing what is held of each); true when the holder must be queued.
    internal bool Put(Func<SessionRecord>? row, TenantSummary? summary)
    {
        lock (_gate)
        {
            _row = row ?? _row;
            _summary = summary ?? _summary;
            return !_queued && (_queued = true);
        }
    }

    // Takes everything held out for a write; the holder leaves the queue.
    internal (Func<SessionRecord>? Row, TenantSummary? Summary) Take()
    {
        lock (_gate)
        {
            var taken = (_row, _summary);
            (_row, _writing, _summary, _queued) = (null, _summary, null, false);
            return taken;
        }
    }

    // A write of what was taken succeeded: the catalog has the sidecar taken.
    internal void Written(TenantSummary? summary)
    {
        lock (_gate)
        {
            _writing = ReferenceEquals(_writing, summary) ? null : _writing;
        }
    }

    // Puts back what a failed write took, unless something newer came in meanwhile; true when the holder must be queued.
    internal bool Restore(Func<SessionRecord>? row, TenantSummary? summary)
    {
        lock (_gate)
        {
            _row ??= row;
            _summary ??= summary;
            _writing = ReferenceEquals(_writing, summary) ? null : _writing;
            return (_row is not null || _summary is not null) && !_queued && (_queued = true);
        }
    }
}
