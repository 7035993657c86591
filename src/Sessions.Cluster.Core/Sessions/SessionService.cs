using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The session store's operations over one transcript store and one catalog: the SDK's <c>SessionStore</c>
/// primitives and the session operations (info, list, fork, rename, tag, delete, continue, views for reads).
/// Answers equal the Claude Agent SDK's for the same transcript (DESIGN.md §4). Free of hosting: the session grain
/// runs the per-session operations in one place and one order; listings and searches run on any node.
/// </summary>
public sealed partial class SessionService(ITranscriptStore store, ISessionCatalog catalog, TimeProvider timeProvider, EntryLimits limits, Tenants.TenantService? tenants = null, Tenants.ITenantDirectory? directory = null)
{
    /// <summary>Limits applied to appended entries.</summary>
    public EntryLimits Limits => limits;

    /// <summary>
    /// The state of one session for its single writer (the session's grain) to hold: its logs are opened on first use
    /// and learnt from storage then; nothing is read here.
    /// </summary>
    /// <exception cref="InvalidKeyException">The tenant, project key or session id is not safe.</exception>
    public SessionState Open(string tenant, string projectKey, string sessionId)
    {
        KeyRules.ValidateTenant(tenant);
        return new SessionState(tenant, projectKey, sessionId, store); // the state's main key checks the rest
    }

    /// <summary>
    /// Appends entries to a transcript or subpath (SessionStore <c>append</c>): persisted in order, deduplicated by
    /// <c>uuid</c>, fenced by <paramref name="expectedLength"/> when given; the catalog row follows.
    /// </summary>
    /// <param name="session">The session's state, held by its grain.</param>
    /// <param name="subpath">A subpath, or null for the main transcript.</param>
    /// <param name="lines">The batch, in order.</param>
    /// <param name="expectedLength">The committed length the caller knows, or null.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <param name="options">The call's idempotency key (a repeated key writes nothing and answers as the first call
    /// did, see <see cref="IdempotencyKeys"/>) and an imported file's last activity.</param>
    /// <exception cref="InvalidKeyException">The subpath is not safe.</exception>
    /// <exception cref="ConflictException">The transcript length is not <paramref name="expectedLength"/>.</exception>
    /// <exception cref="NotFoundException">A subpath append with entries to a session that has no main transcript (code
    /// <c>session_not_found</c>): a subagent transcript belongs to a session, so it never starts one (a session deleted
    /// or purged while its subagent still wrote is not brought back as an unlisted, unreachable file).</exception>
    internal async Task<AppendResult> AppendAsync(SessionState session, string? subpath, IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken, AppendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        _ = session.Key(subpath); // an unsafe subpath throws here, before the idempotency answers are consulted
        if (options?.IdempotencyKey is { } idempotencyKey)
        {
            return await session.Answers.RunOnceAsync(subpath, idempotencyKey, timeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
                () => AppendCoreAsync(session, subpath, lines, expectedLength, cancellationToken, options)).ConfigureAwait(false);
        }

        return await AppendCoreAsync(session, subpath, lines, expectedLength, cancellationToken, options).ConfigureAwait(false);
    }

    private async Task<AppendResult> AppendCoreAsync(SessionState session, string? subpath, IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken, AppendOptions? options = null)
    {
        var key = session.Key(subpath);
        if (options?.Summary is not null && !key.IsMain)
        {
            throw new InvalidRequestException("summary_on_subpath", "Only a main transcript has a summary sidecar; send a subpath's entries without one.");
        }

        var log = session.Log(subpath);
        if (lines.Count == 0)
        {
            var stat = await log.StatAsync(cancellationToken).ConfigureAwait(false);
            return new AppendResult(0, 0, stat?.Length ?? 0, stat?.Mtime ?? 0, false);
        }

        if (!key.IsMain && options?.MainExists != true && await session.Log(null).StatAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            throw new NotFoundException("session_not_found",
                $"Session '{key.SessionId}' has no main transcript in project '{key.ProjectKey}': append its main transcript before subpath '{key.Subpath}' (a deleted or purged session is not brought back by a subagent's append).");
        }

        if (!session.Ephemeral)
        {
            await EnforceQuotasAsync(session.Tenant, key, lines, cancellationToken).ConfigureAwait(false);
        }

        var result = options?.IdempotencyKey is { } idempotencyKey && !session.Ephemeral && lines.All(l => l.Uuid is null)
            ? await AppendRecordedAsync(session, key, log, lines, expectedLength, idempotencyKey, cancellationToken).ConfigureAwait(false)
            : await log.AppendAsync(lines, expectedLength, cancellationToken).ConfigureAwait(false);
        if (options?.LastActivity is { } imported && imported < result.Mtime && result.Appended > 0)
        {
            // An import keeps the file's last activity; later appends use the store's clock again.
            await log.SetMtimeAsync(imported, cancellationToken).ConfigureAwait(false);
            result = result with { Mtime = imported };
        }

        if (key.IsMain && !session.Ephemeral)
        {
            // The row and the sidecar are independent writes: side by side (one catalog round trip of waiting, not two).
            var follow = FollowWithRowAsync(session, lines, result);
            if (options?.Summary is { } summary)
            {
                var written = WriteSummaryAsync(session, key, summary, result);
                await Task.WhenAll(follow, written).ConfigureAwait(false);
                result = result with { Summary = await written.ConfigureAwait(false) };
            }
            else
            {
                await follow.ConfigureAwait(false);
            }
        }

        if (key.IsMain && !session.Ephemeral && result.Appended > 0)
        {
            // After the row: the index keeps messages of sessions the catalog has.
            IndexLater(session.Tenant, key, lines, result.Length);
        }

        return result;
    }

    // The sidecar an append carries, under the same compare-and-swap as PUT …/summary. The entries are stored already,
    // so a refusal is an answer, not an error. A fold is only whole when the sidecar it started from had seen every
    // earlier write: a fold from nothing (version 0) only when this append created the transcript, a fold over a
    // sidecar only when that sidecar is not older than the transcript was (a write without a sidecar came since, from
    // the CLI, the HTTP API, a rename, or a sidecar write lost in a crash). Otherwise the answer asks for a fold of the
    // whole transcript (no current sidecar, the version to replace); on a plain race it carries the current sidecar.
    private async Task<SummaryWriteOutcome> WriteSummaryAsync(SessionState session, SessionKey key, SummaryWrite summary, AppendResult result)
    {
        var tenant = session.Tenant;
        if (summary.ExpectedVersion != 0 || result.Created)
        {
            try
            {
                var version = await PutSummaryAsync(session, summary.DataJson, result.Mtime, summary.ExpectedVersion, result.PreviousMtime, noneStored: result.Created).ConfigureAwait(false);
                return new SummaryWriteOutcome(true, version, null);
            }
            catch (ConflictException e) when (e.Code == "summary_version_conflict")
            {
            }
        }

        var current = await catalog.GetSummaryAsync(tenant, key.ProjectKey, key.SessionId, CancellationToken.None).ConfigureAwait(false);
        session.Summary = KnowsSummary(session) ? current : null;
        var whole = current is null || current.Mtime < result.PreviousMtime;
        return new SummaryWriteOutcome(false, current?.Version ?? 0, whole ? null : current);
    }

    // The catalog row follows a written append. The bytes are stored, so the answer is a success whatever happens
    // here: the refresh is not cancelled by the caller going away, and a failed refresh is retried in the background.
    // A fully deduplicated append (a retry whose first answer was lost) brings a row that missed it up to date.
    private async Task FollowWithRowAsync(SessionState session, IReadOnlyList<TranscriptLine> lines, AppendResult result)
    {
        var key = session.Key(null);
        try
        {
            if (result.Appended > 0)
            {
                // With no duplicate skipped, the bytes written are exactly these lines: the session's windows follow
                // them, unless their lengths do not add up (a write this state did not see), then the store is read.
                var windows = result.Duplicates == 0 ? TranscriptWindows.After(session.Windows, lines, result.Length) : null;
                var usage = await UsageAfterAsync(session, lines, result).ConfigureAwait(false);
                // Forgotten first: if the refresh fails, the next one reads the store and info reads the catalog.
                session.ForgetRow();
                var mark = MarkNext(session);
                (session.Windows, session.Row, session.Usage) = await RefreshCatalogAsync(session.Tenant, key, result.Mtime, windows, CancellationToken.None, mark, session.HeldWrites, usage).ConfigureAwait(false);
                session.RowMarked |= mark;
            }
            else if (result.Duplicates > 0)
            {
                var row = await catalog.GetAsync(session.Tenant, key.ProjectKey, key.SessionId, CancellationToken.None).ConfigureAwait(false);
                if (row is null || row.Size < result.Length)
                {
                    var usage = session.Usage;
                    session.ForgetRow();
                    var mark = MarkNext(session);
                    (session.Windows, session.Row, session.Usage) = await RefreshCatalogAsync(session.Tenant, key, null, null, CancellationToken.None, mark, session.HeldWrites, usage).ConfigureAwait(false);
                    session.RowMarked |= mark && session.Row is not null;
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _ = RepairRowLaterAsync(session.Tenant, key);
        }
    }

    // The session's usage after this append: its own folded over the lines when they are exactly the bytes written after
    // it (or the append created the transcript), else counted on from what is known — this state's, else the catalog
    // row's (once per activation), else nothing — reading the transcript's bytes after it from the store.
    private async Task<SessionUsage> UsageAfterAsync(SessionState session, IReadOnlyList<TranscriptLine> lines, AppendResult result)
    {
        var known = result.Created ? new SessionUsage() : session.Usage;
        if (known is not null && result.Duplicates == 0 && known.Through + lines.Sum(l => l.Json.Length + 1L) == result.Length)
        {
            foreach (var line in lines)
            {
                known.Add(line.Json.Span);
            }

            known.Through = result.Length;
            return known;
        }

        known ??= await StoredUsageAsync(session.Tenant, session.Key(null)).ConfigureAwait(false);
        return await CountUsageAsync(store, session.Tenant, session.Key(null), known, result.Length, CancellationToken.None).ConfigureAwait(false);
    }

    // The usage the session's catalog row holds, or null (none, or the catalog is down: the caller counts from nothing).
    private async Task<SessionUsage?> StoredUsageAsync(string tenant, SessionKey key)
    {
        try
        {
            return SessionUsage.Parse((await catalog.GetAsync(tenant, key.ProjectKey, key.SessionId, CancellationToken.None).ConfigureAwait(false))?.Usage);
        }
        catch (SessionsException)
        {
            return null;
        }
    }

    // Usage counted through the transcript's first `length` bytes: on from `start` when it is of no more than them, else
    // from nothing, reading the bytes after it from the store (line by line; a line is never split across reads).
    private static async Task<SessionUsage> CountUsageAsync(ITranscriptStore from, string tenant, SessionKey key, SessionUsage? start, long length, CancellationToken cancellationToken)
    {
        var usage = start is { } known && known.Through <= length ? known : new SessionUsage();
        if (usage.Through >= length)
        {
            return usage;
        }

        await using var stream = await from.OpenReadAsync(tenant, key, usage.Through, length - usage.Through, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return usage;
        }

        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            var filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    // One line longer than the buffer: a bigger one.
                    var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return usage;
                }

                filled += read;
                var taken = usage.AddLines(buffer.AsSpan(0, filled));
                buffer.AsSpan(taken, filled - taken).CopyTo(buffer);
                filled -= taken;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Whether the session's next row goes through with a note of this writer: its first of this activation, where rows
    // are written behind a shared catalog (WriteBehindCatalog.MarksRows).
    private bool MarkNext(SessionState session) => !session.RowMarked && catalog is WriteBehindCatalog { MarksRows: true };

    /// <summary>
    /// Writes what this process holds back and removes its note on the session's row (the end of the grain's
    /// activation here; see <see cref="WriteBehindCatalog.ReleaseAsync"/>). Nothing when the row was never noted.
    /// </summary>
    /// <exception cref="SessionsException">The catalog is unavailable; the note stays.</exception>
    internal async Task ReleaseRowAsync(SessionState session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (session.RowMarked && catalog is WriteBehindCatalog writeBehind)
        {
            await writeBehind.ReleaseAsync(session.Tenant, session.ProjectKey, session.SessionId, cancellationToken).ConfigureAwait(false);
            session.RowMarked = false;
        }
    }

    /// <summary>
    /// Rebuilds the session's row from its transcript, written through (noted as this writer's, as a first row of an
    /// activation), and removes the note of <paramref name="deadWriter"/>, a writer that died holding the row back.
    /// A session in the trash or without a transcript only loses the note.
    /// </summary>
    /// <exception cref="SessionsException">The catalog or the transcript store is unavailable; the note stays.</exception>
    internal async Task RebuildRowAsync(SessionState session, string deadWriter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (catalog is not WriteBehindCatalog { MarksRows: true } writeBehind)
        {
            return;
        }

        var key = session.Key(null);
        if (!session.Ephemeral && await catalog.GetTrashedAsync(session.Tenant, key.ProjectKey, key.SessionId, cancellationToken).ConfigureAwait(false) is null)
        {
            var usage = session.Usage;
            session.ForgetRow();
            var mark = MarkNext(session);
            (session.Windows, session.Row, session.Usage) = await RefreshCatalogAsync(session.Tenant, key, null, null, cancellationToken, mark, session.HeldWrites, usage).ConfigureAwait(false);
            session.RowMarked |= mark && session.Row is not null;
        }

        await writeBehind.ClearMarkAsync(session.Tenant, key.ProjectKey, key.SessionId, deadWriter, cancellationToken).ConfigureAwait(false);
    }

    private async Task RepairRowLaterAsync(string tenant, SessionKey key)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250 << Math.Min(attempt, 6)), timeProvider).ConfigureAwait(false);
            try
            {
                await RefreshCatalogAsync(tenant, key, null, null, CancellationToken.None).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Still down: try again later; a later append or a reindex also repairs the row.
            }
        }
    }

    // The tenant's entry size limit (413), session count (429) and byte quota (413), checked before anything is written.
    private async Task EnforceQuotasAsync(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, CancellationToken cancellationToken)
    {
        if (tenants is null || directory is null)
        {
            return;
        }

        var effective = await tenants.GetEffectiveLimitsAsync(tenant, cancellationToken).ConfigureAwait(false);
        if (effective.MaxEntryBytes is { } maxEntry && lines.FirstOrDefault(l => l.Json.Length > maxEntry) is { } big)
        {
            throw new LimitExceededException("entry_too_large", $"An entry is {big.Json.Length} bytes; this tenant's limit is {maxEntry}.", 413, maxEntry, big.Json.Length);
        }

        if (effective.MaxSessions is null && effective.MaxBytes is null)
        {
            return;
        }

        await catalog.FlushAsync(cancellationToken).ConfigureAwait(false);
        var usage = await directory.GetUsageAsync(tenant, cancellationToken).ConfigureAwait(false);
        if (effective.MaxSessions is { } maxSessions && key.IsMain && usage.Sessions >= maxSessions
            && await catalog.GetAsync(tenant, key.ProjectKey, key.SessionId, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new LimitExceededException("quota_sessions_exceeded", $"This tenant holds {usage.Sessions} sessions; its quota is {maxSessions}.", 429, maxSessions, usage.Sessions);
        }

        var incoming = lines.Sum(l => (long)l.Json.Length + 1);
        if (effective.MaxBytes is { } maxBytes && usage.Bytes + incoming > maxBytes)
        {
            throw new LimitExceededException("quota_bytes_exceeded", $"This tenant holds {usage.Bytes} bytes; {incoming} more would pass its quota of {maxBytes}.", 413, maxBytes, usage.Bytes);
        }
    }

    /// <summary>The committed length of a stored log now (<see cref="LogView"/>, without bytes).</summary>
    /// <exception cref="InvalidKeyException">The key is not safe.</exception>
    public async Task<LogView> GetViewAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        Validate(tenant, key);
        return new LogView((await store.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false))?.Length, null);
    }

    /// <summary>
    /// The view of one of a session's logs now, through the handle its state holds: the committed length, and for an
    /// ephemeral session also its bytes, which exist only in the state's memory.
    /// </summary>
    /// <exception cref="InvalidKeyException">The subpath is not safe.</exception>
    public async Task<LogView> GetViewAsync(SessionState session, string? subpath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var log = session.Log(subpath); // an unsafe subpath throws here (its key is made when the log is first opened)
        var stat = await log.StatAsync(cancellationToken).ConfigureAwait(false);
        if (stat is null || !session.Ephemeral)
        {
            return stat is null ? LogView.Missing : new LogView(stat.Length, null);
        }

        return new LogView(stat.Length, await ReadRangeAsync(session.Store, session.Tenant, log.Key, 0, stat.Length, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>
    /// Reads <paramref name="count"/> bytes of a stored log from <paramref name="offset"/> (a grain filling or extending
    /// its in-memory copy of a hot log, up to a committed length it knows); fewer when the log is shorter.
    /// </summary>
    /// <exception cref="InvalidKeyException">The key is not safe.</exception>
    public Task<byte[]> ReadStoredAsync(string tenant, SessionKey key, long offset, long count, CancellationToken cancellationToken)
    {
        Validate(tenant, key);
        return ReadRangeAsync(store, tenant, key, offset, count, cancellationToken);
    }

    /// <summary>
    /// Opens a log's committed bytes (JSONL) as a view fixed them, for streaming: null when the log does not exist. The
    /// view comes from <paramref name="views"/> (the session's grain) or, when null, from this service.
    /// </summary>
    public async Task<(Stream Content, long Length)?> OpenTranscriptAsync(string tenant, SessionKey key, CancellationToken cancellationToken, LogViewSource? views = null)
    {
        Validate(tenant, key);
        var view = views is null ? await GetViewAsync(tenant, key, cancellationToken).ConfigureAwait(false) : await views(key, cancellationToken).ConfigureAwait(false);
        if (view.Length is not { } length)
        {
            return null;
        }

        if (view.Inline is { } inline)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(inline, out var segment) ? segment : new ArraySegment<byte>(inline.ToArray());
            return (new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false), inline.Length);
        }

        var stream = await store.OpenReadAsync(tenant, key, 0, length, cancellationToken).ConfigureAwait(false);
        return stream is null ? null : (stream, length);
    }

    /// <summary>Context after compaction of a parsed transcript: the entries from the last compaction boundary on.</summary>
    public static List<JsonObject> ContextOf(List<JsonObject> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var last = entries.FindLastIndex(e => JsText.Str(e, "type") == "system" && JsText.Str(e, "subtype") == "compact_boundary");
        return last < 0 ? entries : entries.GetRange(last, entries.Count - last);
    }

    /// <summary>Makes a session ephemeral before its first write: from now on it lives only in its state's memory.</summary>
    internal void MakeEphemeral(SessionState session)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.MakeEphemeral(timeProvider);
    }

    /// <summary>Reads one summary sidecar with its CAS version, or null.</summary>
    public Task<SummaryRecord?> GetSummaryAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        Validate(tenant, key);
        return catalog.GetSummaryAsync(tenant, key.ProjectKey, key.SessionId, cancellationToken);
    }

    /// <summary>Stores a summary sidecar if its version is still <paramref name="expectedVersion"/> (0 = new).</summary>
    /// <exception cref="ConflictException">Another writer updated it first.</exception>
    /// <exception cref="NotFoundException">The session has no transcript.</exception>
    internal async Task<long> PutSummaryAsync(SessionState session, string dataJson, long mtime, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var key = session.Key(null);
        if (await session.Log(null).StatAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            throw SessionNotFound(key);
        }

        return await PutSummaryAsync(session, dataJson, mtime, expectedVersion, 0).ConfigureAwait(false);
    }

    // Whether the session's state keeps its sidecar (SessionState.Summary): where the catalog writes behind, of which
    // the session's grain is the sidecar's single writer.
    private bool KnowsSummary(SessionState session) => !session.Ephemeral && catalog is WriteBehindCatalog;

    // The sidecar's compare-and-swap: decided against what the session's state knows when it knows it (no catalog
    // read), else by the catalog; the state then knows what it wrote, or nothing after a refusal. `noneStored`: the
    // append that carries it created the transcript, so no sidecar of this session is stored (one left by a delete that
    // failed half-way belongs to the session that was deleted: the upsert replaces it).
    private async Task<long> PutSummaryAsync(SessionState session, string dataJson, long mtime, long expectedVersion, long notBefore, bool noneStored = false)
    {
        var key = session.Key(null);
        try
        {
            var version = KnowsSummary(session) && catalog is WriteBehindCatalog writeBehind
                ? await writeBehind.PutSummaryAsync(session.HeldWrites, session.Tenant, key.ProjectKey, key.SessionId, dataJson, mtime, expectedVersion, notBefore, session.Summary, CancellationToken.None, noneStored).ConfigureAwait(false)
                : await catalog.PutSummaryAsync(session.Tenant, key.ProjectKey, key.SessionId, dataJson, mtime, expectedVersion, notBefore, CancellationToken.None).ConfigureAwait(false);
            session.Summary = KnowsSummary(session) ? new SummaryRecord(key.SessionId, mtime, dataJson, version) : null;
            return version;
        }
        catch
        {
            session.Summary = null;
            throw;
        }
    }

    /// <summary>SessionStore <c>delete</c>: a main key removes the transcript, every subpath, the catalog row and sidecar; a subpath key only itself.</summary>
    /// <returns>False when nothing existed.</returns>
    internal async Task<bool> DeleteAsync(SessionState session, string? subpath, CancellationToken cancellationToken, string? actor = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        session.Summary = subpath is null ? null : session.Summary;
        var key = session.Key(subpath);
        var log = session.Log(subpath);
        if (key.IsMain)
        {
            session.ForgetRow();
        }

        if (session.Ephemeral)
        {
            return await log.DeleteAsync(cancellationToken).ConfigureAwait(false);
        }

        var tenant = session.Tenant;
        var stat = key.IsMain ? await log.StatAsync(cancellationToken).ConfigureAwait(false) : null;
        var removed = await log.DeleteAsync(cancellationToken).ConfigureAwait(false);
        if (key.IsMain)
        {
            removed |= await catalog.DeleteAsync(tenant, key.ProjectKey, key.SessionId, cancellationToken).ConfigureAwait(false);
            if (removed && directory is not null)
            {
                // Right to erasure: the deletion itself is recorded (ids and size, no content).
                await directory.AuditAsync(tenant, key.ProjectKey, key.SessionId, stat?.Length ?? 0, timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), actor ?? "api", AuditReasons.Erasure, cancellationToken).ConfigureAwait(false);
            }
        }

        return removed;
    }

    /// <summary>SessionStore <c>listSubkeys</c>: subpaths of a session, never the main transcript.</summary>
    public Task<IReadOnlyList<string>> ListSubkeysAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        Validate(tenant, new SessionKey(projectKey, sessionId));
        return store.ListSubpathsAsync(tenant, projectKey, sessionId, cancellationToken);
    }

    /// <summary>SessionStore <c>listSubkeys</c> of a session through its state (an ephemeral session's are in its memory).</summary>
    public Task<IReadOnlyList<string>> ListSubkeysAsync(SessionState session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        return session.Store.ListSubpathsAsync(session.Tenant, session.ProjectKey, session.SessionId, cancellationToken);
    }

    /// <summary>A new session id (a UUID) in a project; nothing is written until the session's first append.</summary>
    public string Create(string tenant, string projectKey)
    {
        var id = Guid.NewGuid().ToString();
        Validate(tenant, new SessionKey(projectKey, id));
        return id;
    }

    /// <summary>The SDK's <c>getSessionInfo</c> for one session.</summary>
    /// <exception cref="NotFoundException">No such session, or the SDK would not list it (sidechain-only, nothing to show).</exception>
    public async Task<SessionRecord> GetInfoAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        var key = new SessionKey(projectKey, sessionId);
        Validate(tenant, key);
        var record = await catalog.GetAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        return record is { Listed: true } ? record : throw SessionNotFound(key);
    }

    /// <summary>
    /// The SDK's <c>getSessionInfo</c> through the session's state: the row its last append wrote (or the catalog's,
    /// read once per activation), with no catalog read; an ephemeral session's is computed from its memory.
    /// </summary>
    /// <remarks>
    /// The row follows every write the grain makes; a write it did not make (a duplicate activation's, during a
    /// membership change) shows from its next append on. When a row refresh failed (catalog outage) and is repaired in
    /// the background, the row kept here may lag the repaired one until the session's next write.
    /// </remarks>
    /// <exception cref="NotFoundException">No such session, or the SDK would not list it.</exception>
    public async Task<SessionRecord> GetInfoAsync(SessionState session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var key = session.Key(null);
        if (!session.Ephemeral)
        {
            if (session.Row is null)
            {
                // A read interleaves with an append: keep the row that append made if it came first.
                var read = await catalog.GetAsync(session.Tenant, key.ProjectKey, key.SessionId, cancellationToken).ConfigureAwait(false);
                session.Row ??= read is null ? null : new Lazy<SessionRecord>(read);
            }

            return session.Row?.Value is { Listed: true } row ? row : throw SessionNotFound(key);
        }

        return await ComputeRecordAsync(session.Store, session.Tenant, key, cancellationToken).ConfigureAwait(false) is { Listed: true } r ? r : throw SessionNotFound(key);
    }

    /// <summary>The SDK's <c>getSessionMessages</c>: the live chain's messages with offset/limit, read at one view.</summary>
    /// <exception cref="NotFoundException">No such session.</exception>
    public async Task<List<JsonObject>> GetMessagesAsync(string tenant, SessionKey key, bool includeSystemMessages, int offset, int? limit, CancellationToken cancellationToken, LogViewSource? views = null)
    {
        if (offset < 0 || limit < 0)
        {
            throw new InvalidRequestException("invalid_paging", "offset and limit must not be negative.");
        }

        var entries = await ReadEntriesAsync(tenant, key, views, cancellationToken).ConfigureAwait(false);
        return SessionMessages.Build(entries, includeSystemMessages, offset, limit, reuseEntries: true);
    }

    /// <summary>
    /// The SDK's <c>getSubagentMessages</c>: messages of the subagent transcript <c>subagents/…/agent-&lt;agentId&gt;</c>.
    /// </summary>
    /// <exception cref="NotFoundException">No such session or subagent.</exception>
    /// <remarks>When the session's grain asks, <paramref name="session"/> is its state: the subpaths come from it (an ephemeral session's included).</remarks>
    public async Task<List<JsonObject>> GetSubagentMessagesAsync(string tenant, string projectKey, string sessionId, string agentId, int offset, int? limit, CancellationToken cancellationToken, LogViewSource? views = null, SessionState? session = null)
    {
        if (offset < 0 || limit < 0)
        {
            throw new InvalidRequestException("invalid_paging", "offset and limit must not be negative.");
        }

        var subpaths = session is null
            ? await ListSubkeysAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false)
            : await ListSubkeysAsync(session, cancellationToken).ConfigureAwait(false);
        var subpath = subpaths.FirstOrDefault(k => k.StartsWith("subagents/", StringComparison.Ordinal) && k[(k.LastIndexOf('/') + 1)..] == "agent-" + agentId)
            ?? throw new NotFoundException("subagent_not_found", $"Session '{sessionId}' has no subagent '{agentId}'.");
        var entries = await ReadEntriesAsync(tenant, new SessionKey(projectKey, sessionId, subpath), views, cancellationToken).ConfigureAwait(false);
        return SessionMessages.BuildSubagent(entries, offset, limit);
    }

    /// <summary>
    /// Context after compaction: the entries from the last compaction boundary on (all entries when there is none).
    /// The full history stays in the transcript.
    /// </summary>
    public async Task<List<JsonObject>> GetContextAsync(string tenant, SessionKey key, CancellationToken cancellationToken, LogViewSource? views = null) =>
        ContextOf(await ReadEntriesAsync(tenant, key, views, cancellationToken).ConfigureAwait(false));

    /// <summary>The SDK's <c>renameSession</c>: appends a <c>custom-title</c> entry (never rewrites).</summary>
    /// <exception cref="InvalidRequestException">The title is empty.</exception>
    /// <exception cref="NotFoundException">No such session.</exception>
    internal Task RenameAsync(SessionState session, string title, CancellationToken cancellationToken)
    {
        var trimmed = JsText.JsTrim(title ?? "");
        if (trimmed.Length == 0)
        {
            throw new InvalidRequestException("invalid_title", "title must be non-empty.");
        }

        ArgumentNullException.ThrowIfNull(session);
        return AppendMarkerAsync(session, new JsonObject { ["type"] = "custom-title", ["customTitle"] = trimmed, ["sessionId"] = session.SessionId }, cancellationToken);
    }

    /// <summary>The SDK's <c>tagSession</c>: appends a <c>tag</c> entry; null clears the tag.</summary>
    /// <exception cref="InvalidRequestException">The tag is empty (use null to clear).</exception>
    /// <exception cref="NotFoundException">No such session.</exception>
    internal Task TagAsync(SessionState session, string? tag, CancellationToken cancellationToken)
    {
        if (tag is not null)
        {
            tag = JsText.JsTrim(new string(tag.Where(c => !char.IsControl(c) && c is not ('\u200B' or '\u200C' or '\u200D' or '\uFEFF')).ToArray()));
            if (tag.Length == 0)
            {
                throw new InvalidRequestException("invalid_tag", "tag must be non-empty (use null to clear).");
            }
        }

        ArgumentNullException.ThrowIfNull(session);
        return AppendMarkerAsync(session, new JsonObject { ["type"] = "tag", ["tag"] = tag ?? "", ["sessionId"] = session.SessionId }, cancellationToken);
    }

    /// <summary>Rebuilds a tenant's catalog rows from its transcripts (<c>reindex</c>). Sidecars and the trash are kept.</summary>
    /// <returns>How many sessions were indexed.</returns>
    public async Task<int> ReindexAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var count = 0;
        await foreach (var stat in store.ListMainTranscriptsAsync(tenant, cancellationToken).ConfigureAwait(false))
        {
            if (await catalog.GetTrashedAsync(tenant, stat.Key.ProjectKey, stat.Key.SessionId, cancellationToken).ConfigureAwait(false) is not null)
            {
                continue;
            }

            await RefreshCatalogAsync(tenant, stat.Key, null, null, cancellationToken, recount: true).ConfigureAwait(false);
            if (catalog is WriteBehindCatalog writeBehind)
            {
                // The index keeps messages only of sessions the catalog has.
                await writeBehind.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            await IndexTranscriptAsync(tenant, stat.Key, cancellationToken).ConfigureAwait(false);
            count++;
        }

        return count;
    }

    /// <summary>
    /// Refreshes only the catalog rows that do not match their transcripts (missing, or of another size): after an
    /// unclean stop, the row refreshes held back by a write-behind catalog are redone from the transcripts.
    /// </summary>
    /// <returns>How many rows were refreshed.</returns>
    public async Task<int> ReconcileAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var count = 0;
        await foreach (var stat in store.ListMainTranscriptsAsync(tenant, cancellationToken).ConfigureAwait(false))
        {
            if ((await catalog.GetAsync(tenant, stat.Key.ProjectKey, stat.Key.SessionId, cancellationToken).ConfigureAwait(false) is not { } row || row.Size != stat.Length)
                && await catalog.GetTrashedAsync(tenant, stat.Key.ProjectKey, stat.Key.SessionId, cancellationToken).ConfigureAwait(false) is null)
            {
                await RefreshCatalogAsync(tenant, stat.Key, null, null, cancellationToken).ConfigureAwait(false);
                count++;
            }
        }

        return count;
    }

    /// <summary>Every tenant with transcripts.</summary>
    public IAsyncEnumerable<string> ListTenantsAsync(CancellationToken cancellationToken) => store.ListTenantsAsync(cancellationToken);

    private async Task AppendMarkerAsync(SessionState session, JsonObject entry, CancellationToken cancellationToken)
    {
        if (await session.Log(null).StatAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            throw SessionNotFound(session.Key(null));
        }

        var line = EntryParser.ParseLine(JsJson.Stringify(entry), limits);
        await AppendAsync(session, null, [line], null, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<JsonObject>> ReadEntriesAsync(string tenant, SessionKey key, LogViewSource? views, CancellationToken cancellationToken)
    {
        var opened = await OpenTranscriptAsync(tenant, key, cancellationToken, views).ConfigureAwait(false) ?? throw SessionNotFound(key);
        await using var stream = opened.Content;
        using var buffer = new MemoryStream(checked((int)opened.Length));
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return TranscriptText.ParseObjects(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    // The catalog row follows the transcript; its mtime is the append's own write time when there is one (the
    // appending node's clock, in ms), else what the store reports. The windows are the ones given (the session's,
    // extended by its append) or read from the store; answers the windows used and the row written (both null: no
    // transcript). The row is computed once, when the catalog writes it or the grain answers info from it.
    // With through (MarkNext), the row is written now with the note of this writer instead of held back; else it is
    // held in the session's held writes when given (its grain's), else on its own.
    // The usage is the one given when it is of the windows' length (the caller's, counted on to it), else counted on
    // from it — or from the row's (from nothing with recount: a reindex trusts no row) — by reading the store; the given
    // one may be advanced in place. Answers the usage the row was written with (the caller's state keeps it).
    private async Task<(TranscriptWindows? Windows, Lazy<SessionRecord>? Row, SessionUsage? Usage)> RefreshCatalogAsync(string tenant, SessionKey key, long? mtime, TranscriptWindows? windows, CancellationToken cancellationToken, bool through = false, HeldCatalogWrites? held = null, SessionUsage? usage = null, bool recount = false)
    {
        if (windows is null)
        {
            var stat = await store.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false);
            if (stat is null)
            {
                return (null, null, null);
            }

            windows = await ReadWindowsAsync(store, tenant, key, stat.Length, cancellationToken).ConfigureAwait(false);
            mtime ??= stat.Mtime;
        }

        if (usage is null || usage.Through != windows.Length)
        {
            usage ??= recount ? null : await StoredUsageAsync(tenant, key).ConfigureAwait(false);
            usage = await CountUsageAsync(store, tenant, key, usage, windows.Length, cancellationToken).ConfigureAwait(false);
        }

        var rowMtime = mtime ?? timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        // Taken now: the usage goes on changing with the session's next appends, the row is computed later.
        var usageJson = usage.ToJson();
        var row = new Lazy<SessionRecord>(() => catalog.AsStored(RecordOf(tenant, key, windows, rowMtime, usageJson)));
        if (through && catalog is WriteBehindCatalog writeBehind)
        {
            await writeBehind.WriteThroughMarkedAsync(row.Value, cancellationToken).ConfigureAwait(false);
        }
        else if (held is not null && catalog is WriteBehindCatalog behind)
        {
            behind.Hold(held, () => row.Value);
        }
        else
        {
            await catalog.RefreshAsync(tenant, key.ProjectKey, key.SessionId, () => row.Value, cancellationToken).ConfigureAwait(false);
        }

        return (windows, row, usage);
    }

    // Reads the head and tail windows and computes the row the way the SDK computes SDKSessionInfo.
    private static async Task<SessionRecord?> ComputeRecordAsync(ITranscriptStore from, string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        var stat = await from.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false);
        return stat is null ? null : RecordOf(tenant, key, await ReadWindowsAsync(from, tenant, key, stat.Length, cancellationToken).ConfigureAwait(false), stat.Mtime,
            (await CountUsageAsync(from, tenant, key, null, stat.Length, cancellationToken).ConfigureAwait(false)).ToJson());
    }

    private static async Task<TranscriptWindows> ReadWindowsAsync(ITranscriptStore from, string tenant, SessionKey key, long length, CancellationToken cancellationToken)
    {
        var window = SessionInfoReader.WindowBytes;
        var head = await ReadRangeAsync(from, tenant, key, 0, Math.Min(window, length), cancellationToken).ConfigureAwait(false);
        var tail = length > window ? await ReadRangeAsync(from, tenant, key, length - window, window, cancellationToken).ConfigureAwait(false) : head;
        return new TranscriptWindows(head, tail, length);
    }

    // The catalog row the SDK's SDKSessionInfo would give for these head and tail windows.
    private static SessionRecord RecordOf(string tenant, SessionKey key, TranscriptWindows windows, long mtime, string? usage)
    {
        var facts = windows.Facts;
        var tail = TranscriptText.Decode(windows.Tail);
        var info = SessionInfoReader.Read(key.SessionId, facts, tail, mtime, windows.Length);
        return new SessionRecord
        {
            Tenant = tenant,
            ProjectKey = key.ProjectKey,
            SessionId = key.SessionId,
            Mtime = mtime,
            Size = windows.Length,
            Listed = info is not null,
            Summary = info?.Summary,
            CustomTitle = info?.CustomTitle,
            FirstPrompt = info?.FirstPrompt,
            Tag = info?.Tag,
            Cwd = info?.Cwd,
            GitBranch = info?.GitBranch,
            CreatedAt = info?.CreatedAt,
            ParentSessionId = facts.ForkParent,
            IsSidechain = facts.IsSidechain,
            Usage = usage,
        };
    }

    private static async Task<byte[]> ReadRangeAsync(ITranscriptStore from, string tenant, SessionKey key, long offset, long count, CancellationToken cancellationToken)
    {
        await using var stream = await from.OpenReadAsync(tenant, key, offset, count, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return [];
        }

        using var buffer = new MemoryStream((int)count);
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    // The tenant is checked here; a SessionKey was checked when it was made.
    private static void Validate(string tenant, SessionKey key)
    {
        KeyRules.ValidateTenant(tenant);
        ArgumentNullException.ThrowIfNull(key);
    }

    private static NotFoundException SessionNotFound(SessionKey key) =>
        new("session_not_found", $"Session '{key.SessionId}' was not found in project '{key.ProjectKey}'" + (key.Subpath is null ? "." : $" (subpath '{key.Subpath}')."));
}
