using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>Retention's per-session steps: expire to the trash, restore, purge. The session's one writer runs them.</summary>
public sealed partial class SessionService
{
    /// <summary>
    /// Expires a session whose last activity (the row a sweep listed: its mtime, or a newer write to any subpath) is
    /// still before <paramref name="cutoff"/> and that is not held: it moves to the tenant's trash (audited), and is
    /// purged at once when <paramref name="purgeNow"/>. Run by the session's single writer, so an append ordered before
    /// this call makes it a no-op and one ordered after it brings the session back (<see cref="RestoreAsync"/>). The
    /// catalog is not read again on the way: the move is conditional on the listed row being unchanged and unheld
    /// (<see cref="ISessionCatalog.MoveToTrashAsync"/>), and only a move refused is looked into.
    /// </summary>
    /// <param name="session">The session's state, held by its grain.</param>
    /// <param name="listed">The session's catalog row as the sweep listed it.</param>
    /// <param name="cutoff">Last activity before this expires, epoch ms.</param>
    /// <param name="holdTags">Tags that exempt a session.</param>
    /// <param name="purgeNow">Purge at once (a grace period of 0 days).</param>
    /// <param name="node">Who does it, for the audit.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <exception cref="ArgumentException"><paramref name="listed"/> is another session's row.</exception>
    internal async Task<ExpireOutcome> ExpireAsync(SessionState session, SessionRecord listed, long cutoff, IReadOnlyCollection<string> holdTags, bool purgeNow, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(listed);
        ArgumentNullException.ThrowIfNull(holdTags);
        var (tenant, projectKey, sessionId) = (session.Tenant, session.ProjectKey, session.SessionId);
        if (listed.ProjectKey != projectKey || listed.SessionId != sessionId)
        {
            throw new ArgumentException($"The row of session '{listed.SessionId}' of project '{listed.ProjectKey}' is not this session's.", nameof(listed));
        }

        session.Summary = null; // the sidecar moves with the session to or from the trash
        if (listed.Tag is { } tag && holdTags.Contains(tag))
        {
            return ExpireOutcome.Held;
        }

        var log = session.Log(null);
        if (await log.StatAsync(cancellationToken).ConfigureAwait(false) is not { } main)
        {
            // A row whose transcript is gone (deleted behind the catalog's back): the row goes too, and with it any
            // subpath left behind, which nothing could reach or remove once the row is gone.
            session.ForgetRow();
            await log.DeleteAsync(cancellationToken).ConfigureAwait(false);
            await catalog.DeleteAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
            return ExpireOutcome.Missing;
        }

        // The row's mtime is the main transcript's last activity (the writing node's clock, or an import's file time;
        // a blob's own Last-Modified cannot say either). A row that lags its transcript is being repaired, or was
        // written since the listing: not now.
        if (main.Length != listed.Size)
        {
            return ExpireOutcome.Active;
        }

        var lastActivity = await LastActivityAsync(session, listed.Mtime, cancellationToken).ConfigureAwait(false);
        if (lastActivity >= cutoff)
        {
            return ExpireOutcome.Active;
        }

        var entry = new TrashedSession(tenant, projectKey, sessionId, listed.Mtime, main.Length, Now(), listed.CustomTitle ?? listed.Summary ?? listed.FirstPrompt);
        session.ForgetRow();
        if (!await catalog.MoveToTrashAsync(entry, node, cancellationToken).ConfigureAwait(false))
        {
            // Refused: the row went, changed (a write or a re-tag since the listing) or a hold came.
            return await catalog.GetAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) is not { } row ? ExpireOutcome.Missing
                : (row.Tag is { } now && holdTags.Contains(now)) || await catalog.IsHeldAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) ? ExpireOutcome.Held
                : ExpireOutcome.Active;
        }

        Telemetry.SessionsTelemetry.Expirations.Add(1);
        return purgeNow && await PurgeAsync(session, long.MaxValue, node, cancellationToken).ConfigureAwait(false) == PurgeOutcome.Purged
            ? ExpireOutcome.Purged
            : ExpireOutcome.Trashed;
    }

    /// <summary>
    /// Purges a trashed session whose grace period is over (it went to the trash before <paramref name="trashedBefore"/>):
    /// its transcript, subpaths, sidecar and trash entry, audited once. A session written after it went to the trash
    /// (possible only through a second activation of its writer) is restored instead.
    /// </summary>
    internal async Task<PurgeOutcome> PurgeAsync(SessionState session, long trashedBefore, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Summary = null; // the sidecar moves with the session to or from the trash
        var (tenant, projectKey, sessionId) = (session.Tenant, session.ProjectKey, session.SessionId);
        if (await catalog.GetTrashedAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            return PurgeOutcome.NotInTrash;
        }

        if (entry.TrashedAt >= trashedBefore)
        {
            return PurgeOutcome.NotDue;
        }

        var log = session.Log(null);
        var main = await log.StatAsync(cancellationToken).ConfigureAwait(false);
        if (main is not null && (main.Length != entry.Size || await LastActivityAsync(session, entry.LastWrite, cancellationToken).ConfigureAwait(false) > entry.TrashedAt))
        {
            await RestoreAsync(session, "written-in-trash", cancellationToken).ConfigureAwait(false);
            return PurgeOutcome.Restored;
        }

        session.ForgetRow();
        if (await log.DeleteIfUnchangedAsync(entry.Size, cancellationToken).ConfigureAwait(false) == ConditionalDelete.Changed)
        {
            await RestoreAsync(session, "written-in-trash", cancellationToken).ConfigureAwait(false);
            return PurgeOutcome.Restored;
        }

        await catalog.PurgeTrashedAsync(tenant, projectKey, sessionId, Now(), node, cancellationToken).ConfigureAwait(false);
        return PurgeOutcome.Purged;
    }

    /// <summary>
    /// Brings a session back from the trash exactly as it was (its transcripts never moved; its row is recomputed from
    /// them, its sidecar returns verbatim), audited. The next sweep measures its age from the restore.
    /// </summary>
    /// <exception cref="NotFoundException">The session is not in the trash (code <c>not_in_trash</c>).</exception>
    internal async Task RestoreAsync(SessionState session, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Summary = null; // the sidecar moves with the session to or from the trash
        var (tenant, projectKey, sessionId, key) = (session.Tenant, session.ProjectKey, session.SessionId, session.Key(null));
        var entry = await catalog.GetTrashedAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        var stat = entry is null ? null : await session.Log(null).StatAsync(cancellationToken).ConfigureAwait(false);
        if (entry is null || stat is null)
        {
            throw new NotFoundException("not_in_trash", $"Session '{sessionId}' of project '{projectKey}' is not in the trash.");
        }

        // The row's last activity is the one it went to the trash with, unless the transcript was written since.
        var mtime = stat.Length == entry.Size ? entry.LastWrite : Math.Max(entry.LastWrite, stat.Mtime);
        var windows = await ReadWindowsAsync(store, tenant, key, stat.Length, cancellationToken).ConfigureAwait(false);
        var usage = await CountUsageAsync(store, tenant, key, null, stat.Length, cancellationToken).ConfigureAwait(false);
        var row = RecordOf(tenant, key, windows, mtime, usage.ToJson());
        session.ForgetRow();
        if (!await catalog.RestoreFromTrashAsync(row, Now(), actor, cancellationToken).ConfigureAwait(false))
        {
            throw new NotFoundException("not_in_trash", $"Session '{sessionId}' of project '{projectKey}' is not in the trash.");
        }

        (session.Windows, session.Usage, session.Row) = (windows, usage, new Lazy<SessionRecord>(catalog.AsStored(row)));
    }

    /// <summary>Whether the session is in its tenant's trash (invisible to reads until restored).</summary>
    public async Task<bool> IsTrashedAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        Validate(tenant, new SessionKey(projectKey, sessionId));
        return await catalog.GetTrashedAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) is not null;
    }

    // The session's last activity: the main transcript's (given) or a newer write to any subpath, epoch ms.
    private async Task<long> LastActivityAsync(SessionState session, long mainActivity, CancellationToken cancellationToken)
    {
        var last = mainActivity;
        foreach (var subpath in await ListSubkeysAsync(session, cancellationToken).ConfigureAwait(false))
        {
            if (await session.Log(subpath).StatAsync(cancellationToken).ConfigureAwait(false) is { } stat)
            {
                last = Math.Max(last, stat.Mtime);
            }
        }

        return last;
    }

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
}
