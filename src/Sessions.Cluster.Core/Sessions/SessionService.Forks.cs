using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>Forks (the SDK's <c>forkSession</c>), taken copy-on-write.</summary>
public sealed partial class SessionService
{
    // A parent written within this window cannot be claimed by retention (its minimum is one day), so a fork of it can
    // be written after the call returns; an older parent is forked at once.
    private static readonly TimeSpan LazyForkWindow = TimeSpan.FromHours(23);
    private const int SettledCapacity = 100_000;

    private readonly ConcurrentDictionary<(string Tenant, string ProjectKey, string SessionId), Lazy<Task>> _materializing = new();
    private readonly ConcurrentDictionary<(string Tenant, string ProjectKey, string SessionId), bool> _settled = new();

    /// <summary>
    /// The SDK's <c>forkSession</c>: a new session seeded from the parent's history read at one consistent length,
    /// up to <paramref name="upToMessageId"/> (inclusive) when given. The parent is unchanged.
    /// </summary>
    /// <remarks>
    /// Copy-on-write (DESIGN.md §6: fork time must not grow with the transcript): the call records the fork (the parent's
    /// committed length, the cut, the title, the fork time) in the catalog and returns; the fork's transcript is
    /// built from those bytes in the background right after. Anything that reads or writes the fork first waits for
    /// that (or builds it, on another node or after a restart), and deleting the parent first builds its pending forks,
    /// so the fork reads exactly as an eager copy would. The call only checks what makes the fork certain to succeed;
    /// when it cannot tell cheaply (an ephemeral or old parent, an odd cut) it builds the fork at once, which raises
    /// the SDK's errors.
    /// </remarks>
    /// <returns>The fork's session id.</returns>
    /// <exception cref="NotFoundException">No such session, or no such message in it.</exception>
    /// <exception cref="InvalidRequestException">The session has no messages to fork.</exception>
    public async Task<string> ForkAsync(string tenant, string projectKey, string sessionId, string? upToMessageId, string? title, CancellationToken cancellationToken)
    {
        var key = new SessionKey(projectKey, sessionId);
        Validate(tenant, key);
        var target = StoreFor(tenant, key);
        if (!IsEphemeral(tenant, key))
        {
            await SettleAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        }

        var stat = await target.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false) ?? throw SessionNotFound(key);
        var windows = await ReadWindowsAsync(target, tenant, key, stat.Length, cancellationToken).ConfigureAwait(false);
        var parent = RecordOf(tenant, key, windows, stat.Mtime);
        var now = timeProvider.GetUtcNow();
        var fork = new PendingFork(tenant, projectKey, Guid.NewGuid().ToString(), sessionId, stat.Length, NullIfEmpty(upToMessageId), title,
            parent.CustomTitle ?? parent.FirstPrompt, now.ToUnixTimeMilliseconds());
        var lazy = !IsEphemeral(tenant, key)
            && now - DateTimeOffset.FromUnixTimeMilliseconds(stat.Mtime) < LazyForkWindow
            && !await HasQuotaAsync(tenant, cancellationToken).ConfigureAwait(false)
            && await CertainToForkAsync(tenant, key, windows, fork, cancellationToken).ConfigureAwait(false);
        if (lazy)
        {
            await catalog.AddPendingForkAsync(fork, cancellationToken).ConfigureAwait(false);
            // Nobody waits for this write; a failure leaves the fork pending for the next reader (which sees the error).
            _ = MaterializeAsync(fork).ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        else
        {
            if (IsEphemeral(tenant, key))
            {
                _ephemeralSessions[(tenant, projectKey, fork.SessionId)] = true;
            }

            await WriteForkAsync(fork, cancellationToken).ConfigureAwait(false);
        }

        Telemetry.SessionsTelemetry.Forks.Add(1);
        return fork.SessionId;
    }

    /// <summary>
    /// Writes every fork still pending in a tenant (after a restart, say); reads would write them on demand anyway,
    /// this makes them show in listings.
    /// </summary>
    /// <returns>How many were written.</returns>
    public async Task<int> SettlePendingForksAsync(string tenant, CancellationToken cancellationToken)
    {
        var pending = await catalog.ListPendingForksAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        foreach (var fork in pending)
        {
            await MaterializeAsync(fork).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return pending.Count;
    }

    // Waits until the session is not a pending fork (writing it if nobody is). Each node asks the catalog once per
    // session: a session id that is not a pending fork never becomes one (forks get fresh ids).
    private async Task SettleAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        var id = (tenant, projectKey, sessionId);
        if (_settled.ContainsKey(id))
        {
            return;
        }

        if (_materializing.TryGetValue(id, out var running))
        {
            await running.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        if (await catalog.GetPendingForkAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) is { } pending)
        {
            await MaterializeAsync(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        MarkSettled(id);
    }

    // Pending forks of a project (all of them, or those of one parent) are written before it is listed or the parent deleted.
    private async Task SettleProjectAsync(string tenant, string projectKey, string? parentSessionId, CancellationToken cancellationToken)
    {
        foreach (var fork in await catalog.ListPendingForksAsync(tenant, projectKey, cancellationToken).ConfigureAwait(false))
        {
            if (parentSessionId is null || fork.ParentSessionId == parentSessionId)
            {
                await MaterializeAsync(fork).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void MarkSettled((string, string, string) id)
    {
        if (_settled.Count >= SettledCapacity)
        {
            _settled.Clear();
        }

        _settled[id] = true;
    }

    // One writer per pending fork on this node; the store's expectedLength=0 fence settles a race with another node.
    private Task MaterializeAsync(PendingFork fork)
    {
        var id = (fork.Tenant, fork.ProjectKey, fork.SessionId);
        var lazy = _materializing.GetOrAdd(id, key => new Lazy<Task>(() => Task.Run(async () =>
        {
            try
            {
                await WriteForkAsync(fork, CancellationToken.None).ConfigureAwait(false);
                await catalog.RemovePendingForkAsync(fork.Tenant, fork.ProjectKey, fork.SessionId, CancellationToken.None).ConfigureAwait(false);
                MarkSettled(id);
            }
            catch (Exception ex) when (ex is NotFoundException or InvalidRequestException or LimitExceededException)
            {
                // The parent vanished, cannot be forked after all, or the fork would not fit the tenant's quota: there
                // is nothing to write, ever.
                await catalog.RemovePendingForkAsync(fork.Tenant, fork.ProjectKey, fork.SessionId, CancellationToken.None).ConfigureAwait(false);
                MarkSettled(id);
                throw;
            }
            finally
            {
                _materializing.TryRemove(id, out _);
            }
        })));
        return lazy.Value;
    }

    // Builds the fork from the parent's first ParentLength bytes and writes it (the eager fork, and the lazy one later).
    // The build is deterministic (the fresh uuids derive from the fork's id), so every writer of a fork writes the same
    // bytes: one that finds part of them stored already (a crash in the middle of the write, another node writing)
    // checks that part and appends the rest, fenced by the length it found.
    private async Task WriteForkAsync(PendingFork fork, CancellationToken cancellationToken)
    {
        var parentKey = new SessionKey(fork.ProjectKey, fork.ParentSessionId);
        var entries = await ReadEntriesAsync(StoreFor(fork.Tenant, parentKey), fork.Tenant, parentKey, fork.ParentLength, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            throw SessionNotFound(parentKey);
        }

        var forked = ForkBuilder.Build(entries, fork.ParentSessionId, fork.SessionId, fork.UpToMessageId, fork.Title, fork.ParentTitle,
            DateTimeOffset.FromUnixTimeMilliseconds(fork.ForkTime), ForkUuids(fork.SessionId), reuseEntries: true);
        // The parent's entries were validated when stored; serialize the forked ones straight into lines (compact JSON).
        var lines = forked.Select(e => new TranscriptLine(JsJson.Stringify(e), JsText.Str(e, "uuid"))).ToList();
        var key = new SessionKey(fork.ProjectKey, fork.SessionId);
        (long Bytes, int Lines) stored = (0, 0);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await AppendCoreAsync(fork.Tenant, key, lines.GetRange(stored.Lines, lines.Count - stored.Lines), stored.Bytes, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ConflictException) when (attempt < 10)
            {
                // Part of the fork is there: carry on after it, unless it is not this fork's start (then leave it be).
                if (await StoredPrefixAsync(fork.Tenant, key, lines, cancellationToken).ConfigureAwait(false) is not { } prefix || prefix.Lines == lines.Count)
                {
                    return;
                }

                stored = prefix;
            }
        }
    }

    // How much of these lines the store holds already, from the start, as (bytes, lines); null when it holds anything else.
    private async Task<(long Bytes, int Lines)?> StoredPrefixAsync(string tenant, SessionKey key, List<TranscriptLine> lines, CancellationToken cancellationToken)
    {
        var target = StoreFor(tenant, key);
        var length = (await target.StatAsync(tenant, key, cancellationToken).ConfigureAwait(false))?.Length ?? 0;
        var bytes = await ReadRangeAsync(target, tenant, key, 0, length, cancellationToken).ConfigureAwait(false);
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
    private async Task<bool> CertainToForkAsync(string tenant, SessionKey key, TranscriptWindows.Windows windows, PendingFork fork, CancellationToken cancellationToken)
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

    private static async Task<List<JsonObject>> ReadEntriesAsync(ITranscriptStore from, string tenant, SessionKey key, long length, CancellationToken cancellationToken) =>
        TranscriptText.ParseObjects(await ReadRangeAsync(from, tenant, key, 0, length, cancellationToken).ConfigureAwait(false));

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
