using System.Text;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>Forks (the SDK's <c>forkSession</c>), in two steps: the parent's snapshot, then the fork's write.</summary>
public sealed partial class SessionService
{
    /// <summary>
    /// The parent's side of the SDK's <c>forkSession</c>: fixes the fork's seed (the parent's committed length now, the
    /// cut, the titles, the fork time) and a new session id, and checks what makes the fork certain to succeed, so the
    /// transcript can be written after the call answers (<see cref="WriteForkAsync"/>). The parent is unchanged.
    /// </summary>
    /// <remarks>
    /// Flat in the parent's size: it reads the head window and, with a cut, searches the cut message from the end in
    /// growing chunks of whole lines. When it cannot tell cheaply (an odd cut, no message in the head) or the fork must
    /// fit a quota, <see cref="ForkSnapshot.WriteNow"/> asks for the write inside the call, which raises the SDK's errors.
    /// </remarks>
    /// <exception cref="NotFoundException">No such session.</exception>
    /// <exception cref="InvalidKeyException">The key is not safe.</exception>
    internal async Task<ForkSnapshot> SnapshotForkAsync(SessionState session, string? upToMessageId, string? title, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var (tenant, sessionId, key) = (session.Tenant, session.SessionId, session.Key(null));
        var ephemeral = session.Ephemeral;
        var target = session.Store;
        var stat = await session.Log(null).StatAsync(cancellationToken).ConfigureAwait(false) ?? throw SessionNotFound(key);
        var windows = await ReadWindowsAsync(target, tenant, key, stat.Length, cancellationToken).ConfigureAwait(false);
        var parent = RecordOf(tenant, key, windows, stat.Mtime, null);
        var seed = new ForkSeed(sessionId, stat.Length, NullIfEmpty(upToMessageId), title, parent.CustomTitle ?? parent.FirstPrompt, timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        var id = Guid.NewGuid().ToString();
        Telemetry.SessionsTelemetry.Forks.Add(1);
        if (ephemeral)
        {
            return new ForkSnapshot(id, seed, true, await ReadRangeAsync(target, tenant, key, 0, stat.Length, cancellationToken).ConfigureAwait(false));
        }

        var deferred = !await HasQuotaAsync(tenant, cancellationToken).ConfigureAwait(false)
            && await CertainToForkAsync(tenant, key, windows, seed, cancellationToken).ConfigureAwait(false);
        return new ForkSnapshot(id, seed, !deferred, null);
    }

    /// <summary>
    /// Writes a fork's transcript from its seed: exactly the SDK's <c>forkSession</c> output for the parent's first
    /// <see cref="ForkSeed.ParentLength"/> bytes. Idempotent: the build is deterministic (the fresh uuids derive from the
    /// fork's id), so a writer that finds part of the fork stored (a crash in the middle of a write) checks that part and
    /// appends the rest, and one that finds all of it writes nothing.
    /// </summary>
    /// <param name="fork">The fork's state, held by its grain (in the parent's project).</param>
    /// <param name="seed">What the parent's snapshot fixed.</param>
    /// <param name="ephemeralParent">An ephemeral parent's bytes (then the fork must be registered ephemeral here first), or null to read the parent from the store.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <exception cref="NotFoundException">The parent is gone, or the cut message is not in it (the SDK's error).</exception>
    /// <exception cref="InvalidRequestException">The parent has no messages to fork (the SDK's error).</exception>
    /// <exception cref="LimitExceededException">The fork does not fit the tenant's quota.</exception>
    internal async Task WriteForkAsync(SessionState fork, ForkSeed seed, byte[]? ephemeralParent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fork);
        ArgumentNullException.ThrowIfNull(seed);
        var (tenant, projectKey, forkId) = (fork.Tenant, fork.ProjectKey, fork.SessionId);
        var parentKey = new SessionKey(projectKey, seed.ParentSessionId);
        var parentBytes = ephemeralParent ?? await ReadRangeAsync(store, tenant, parentKey, 0, seed.ParentLength, cancellationToken).ConfigureAwait(false);
        var parsed = TranscriptText.ParseLines(parentBytes);
        if (parsed.Count == 0)
        {
            throw SessionNotFound(parentKey);
        }

        var sources = new Dictionary<System.Text.Json.Nodes.JsonObject, Range>(parsed.Count, ReferenceEqualityComparer.Instance);
        foreach (var (entry, line) in parsed)
        {
            sources[entry] = line;
        }

        var forked = ForkBuilder.Build(parsed.ConvertAll(p => p.Entry), seed.ParentSessionId, forkId, seed.UpToMessageId, seed.Title, seed.ParentTitle,
            DateTimeOffset.FromUnixTimeMilliseconds(seed.ForkTime), ForkUuids(forkId), reuseEntries: true);
        // The parent's entries were validated when stored: a forked entry is its parent line with the fork's edits
        // (bytes copied where untouched), a new one (the title) is serialized.
        var lines = forked.Select(e => new TranscriptLine(
            sources.TryGetValue(e, out var source) ? ForkLines.Write(e, parentBytes.AsSpan(source)) : JsJson.Stringify(e), JsText.Str(e, "uuid"))).ToList();
        var key = new SessionKey(projectKey, forkId);
        (long Bytes, int Lines) stored = (0, 0);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await AppendCoreAsync(fork, null, lines.GetRange(stored.Lines, lines.Count - stored.Lines), stored.Bytes, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ConflictException) when (attempt < 10)
            {
                // Part of the fork is there: carry on after it, unless it is not this fork's start (then leave it be).
                if (await StoredPrefixAsync(fork, lines, cancellationToken).ConfigureAwait(false) is not { } prefix || prefix.Lines == lines.Count)
                {
                    return;
                }

                stored = prefix;
            }
        }
    }

    /// <summary>
    /// Drops a fork whose transcript can never be written from its parent's stored bytes: whatever part of it reached
    /// storage and its catalog row are removed, and one <see cref="AuditReasons.ForkFailed"/> record is written (ids,
    /// no content), so the fork's seed no longer holds up its parent's delete, purge or erasure.
    /// </summary>
    /// <param name="fork">The fork's state, held by its grain (in the parent's project).</param>
    /// <param name="parentSessionId">The parent it was seeded from (kept in the audit record's actor).</param>
    /// <param name="node">The silo that dropped it.</param>
    /// <param name="cancellationToken">Cancels the drop.</param>
    internal async Task DropFailedForkAsync(SessionState fork, string parentSessionId, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fork);
        var (tenant, projectKey, forkId) = (fork.Tenant, fork.ProjectKey, fork.SessionId);
        fork.ForgetRow();
        await fork.Log(null).DeleteAsync(cancellationToken).ConfigureAwait(false);
        await catalog.DeleteAsync(tenant, projectKey, forkId, cancellationToken).ConfigureAwait(false);
        if (directory is not null)
        {
            await directory.AuditAsync(tenant, projectKey, forkId, 0, timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), $"{node} (fork of {parentSessionId})", AuditReasons.ForkFailed, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Notes in the catalog, before any grain state of it is written, that the fork <paramref name="forkId"/> of
    /// <paramref name="parent"/> is unfinished (<see cref="UnfinishedFork"/>).
    /// </summary>
    internal Task NoteUnfinishedForkAsync(SessionState parent, string forkId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return catalog.AddUnfinishedForkAsync(new UnfinishedFork(parent.Tenant, parent.ProjectKey, forkId, parent.SessionId, timeProvider.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken);
    }

    /// <summary>Removes the catalog's note of the fork <paramref name="forkId"/> of <paramref name="parent"/>, once its grain state is cleared.</summary>
    internal Task ForgetUnfinishedForkAsync(SessionState parent, string forkId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parent);
        return catalog.RemoveUnfinishedForkAsync(parent.Tenant, parent.ProjectKey, forkId, cancellationToken);
    }

    /// <summary>
    /// The forks of <paramref name="tenant"/> whose grain state may remain (<see cref="UnfinishedFork"/>): what a start
    /// finishes and what a tenant's erasure clears.
    /// </summary>
    /// <exception cref="InvalidKeyException">The tenant name is not a safe key.</exception>
    public Task<IReadOnlyList<UnfinishedFork>> ListUnfinishedForksAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        return catalog.ListUnfinishedForksAsync(tenant, cancellationToken);
    }

    // How much of these lines the store holds already, from the start, as (bytes, lines); null when it holds anything else.
    private static async Task<(long Bytes, int Lines)?> StoredPrefixAsync(SessionState fork, List<TranscriptLine> lines, CancellationToken cancellationToken)
    {
        var log = fork.Log(null);
        var length = (await log.StatAsync(cancellationToken).ConfigureAwait(false))?.Length ?? 0;
        var bytes = await ReadRangeAsync(fork.Store, fork.Tenant, log.Key, 0, length, cancellationToken).ConfigureAwait(false);
        var at = 0;
        var count = 0;
        while (at < bytes.Length && count < lines.Count)
        {
            var line = lines[count].Json.Span;
            if (at + line.Length >= bytes.Length || !bytes.AsSpan(at, line.Length).SequenceEqual(line) || bytes[at + line.Length] != (byte)'\n')
            {
                return null;
            }

            at += line.Length + 1;
            count++;
        }

        return at == bytes.Length ? (at, count) : null;
    }

    // The fork's fresh uuids: random-looking (version 4 layout) but derived from the fork's own id and their order.
    private static Func<string> ForkUuids(string forkId)
    {
        var counter = 0;
        return () =>
        {
            Span<byte> hash = stackalloc byte[32];
            System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes($"{forkId}/{counter++}"), hash);
            hash[6] = (byte)((hash[6] & 0x0F) | 0x40);
            hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
            return new Guid(hash[..16], bigEndian: true).ToString();
        };
    }

    // A tenant with a session or byte quota forks at once, so a fork over the quota fails in the call (413/429).
    private async Task<bool> HasQuotaAsync(string tenant, CancellationToken cancellationToken) =>
        tenants is not null && await tenants.GetEffectiveLimitsAsync(tenant, cancellationToken).ConfigureAwait(false) is var limits
        && (limits.MaxSessions is not null || limits.MaxBytes is not null);

    // Whether the fork cannot fail once accepted: the cut message is found or, without a cut, the head holds a message
    // to fork. The cut is looked for from the end in growing chunks of whole lines (a fork is usually taken near the
    // end), with a byte search first and one line parsed per hit.
    private async Task<bool> CertainToForkAsync(string tenant, SessionKey key, TranscriptWindows windows, ForkSeed fork, CancellationToken cancellationToken)
    {
        if (fork.UpToMessageId is null)
        {
            return TranscriptText.ParseObjects(windows.Head).Any(e => ForkBuilder.CertainToFork(e, null));
        }

        var id = Encoding.UTF8.GetBytes(fork.UpToMessageId);
        var end = fork.ParentLength;
        var chunk = 64L * 1024;
        while (end > 0)
        {
            var start = Math.Max(0, end - chunk);
            chunk *= 2;
            var bytes = await ReadRangeAsync(store, tenant, key, start, end - start, cancellationToken).ConfigureAwait(false);
            var skip = 0;
            if (start > 0)
            {
                // Leave the cut first line to the next chunk; a line longer than the chunk waits for a bigger one.
                skip = bytes.AsSpan().IndexOf((byte)'\n') + 1;
                if (skip == 0)
                {
                    continue;
                }
            }

            if (HoldsForkPoint(bytes.AsSpan(skip), id, fork.UpToMessageId))
            {
                return true;
            }

            end = start + skip;
        }

        return false;
    }

    // Whether any whole line of these holding the id is the message the fork may end at.
    private static bool HoldsForkPoint(ReadOnlySpan<byte> lines, ReadOnlySpan<byte> id, string upToMessageId)
    {
        for (var at = lines.LastIndexOf(id); at >= 0; at = lines[..at].LastIndexOf(id))
        {
            var start = lines[..at].LastIndexOf((byte)'\n') + 1;
            var end = lines[at..].IndexOf((byte)'\n');
            var line = lines[start..(end < 0 ? lines.Length : at + end)];
            if (TranscriptText.ParseObjects(line) is [var entry] && ForkBuilder.CertainToFork(entry, upToMessageId))
            {
                return true;
            }

            at = start;
            if (at == 0)
            {
                break;
            }
        }

        return false;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
