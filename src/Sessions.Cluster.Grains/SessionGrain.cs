using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Sessions;
using SessionKey = Sessions.Cluster.Core.SessionKey;

namespace Sessions.Cluster.Grains;

/// <summary>
/// The single writer of one session (<see cref="ISessionGrain"/>). Its writes run one at a time, in the order they
/// asked (Orleans runs one non-interleaving call at a time; appends, which interleave so that those queued behind an
/// append in flight go out together, take the same write turn: see <see cref="Append"/>), so appends from every node
/// are ordered here; the storage fence below it (append position / file length) still refuses a second activation's
/// write during a membership change. The SDK-equivalent logic is Core's
/// <see cref="SessionService"/>: this grain only gives it one place per session and one order.
/// </summary>
/// <remarks>
/// The session's state is a field of the grain (<see cref="SessionState"/>): its open logs (each with its committed
/// length and uuids), the head/tail windows behind its catalog row and its idempotency answers; hot logs, the last
/// messages asked and the transcript reader's model (the console's, see <see cref="GetTranscriptPage"/>) are fields
/// too. Orleans' activation collection frees them; the next activation, here or on another silo, learns the logs from
/// storage again. Whether the session is in its tenant's trash is read
/// from the catalog when first needed and kept here, since every step in or out of the trash goes through this grain.
/// An ephemeral session lives only as long as its activation: <see cref="SessionGrainOptions.EphemeralIdle"/> without a
/// call, or the loss of its silo, and it is gone.
/// </remarks>
public sealed partial class SessionGrain(SessionService sessions, RetentionOptions retention, TenantReminders reminders, ILocalSiloDetails silo, SessionGrainOptions options, HotTranscriptBudget budget, IEnumerable<ITranscriptReader> readers, ILogger<SessionGrain> logger)
    : Grain, ISessionGrain, IIncomingGrainCallFilter
{
    // The interface's calls that interleave with everything: the reads, which take no write turn, and Append, which
    // takes its turn in its queue.
    private static readonly HashSet<string> Interleaved =
        [.. typeof(ISessionGrain).GetMethods().Where(m => m.IsDefined(typeof(AlwaysInterleaveAttribute), inherit: false)).Select(m => m.Name)];

    private string _tenant = "";
    private string _projectKey = "";
    private string _sessionId = "";
    private bool? _trashed;
    private bool _mainExists;
    private bool _reminded;
    private long _lastUse;
    private IGrainTimer? _idleCheck;
    private SessionState _state = null!;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _projectKey, _sessionId) = SessionGrainKey.Parse(this.GetPrimaryKeyString());
        _state = sessions.Open(_tenant, _projectKey, _sessionId);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The session's state (an ephemeral session's bytes included) goes with the activation. Rows this silo holds back
    /// are written first and its note on the session's row removed, so the next activation, here or elsewhere, reads
    /// what this one wrote; if the catalog is down the note stays, and the row is rebuilt should this silo die.
    /// </remarks>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        DropHotLogs();
        try
        {
            await sessions.ReleaseRowAsync(_state, cancellationToken);
        }
        catch (Exception ex) when (ex is SessionsException or OperationCanceledException)
        {
            LogRowNotReleased(logger, _tenant, _projectKey, _sessionId, ex.Message);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Every call of the session's interface but <see cref="SeedFork"/> first makes sure a seeded fork's transcript is
    /// written (see <see cref="FinishFork"/>). Every call to an ephemeral session counts as a use and keeps it from being
    /// collected for <see cref="SessionGrainOptions.EphemeralIdle"/>. Every write but <see cref="Append"/> (which takes
    /// it in its queue) runs in the grain's write turn, so it never overlaps an append; a write that may change a
    /// transcript other than <see cref="Append"/> drops the in-memory copies of hot logs before and after it runs.
    /// Reads (the interface's <see cref="AlwaysInterleaveAttribute"/> calls) take no turn.
    /// </remarks>
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Only calls of the session's interface are uses (the idle check's own timer ticks are not).
        if (context.InterfaceMethod?.DeclaringType == typeof(ISessionGrain))
        {
            if (_state.Ephemeral)
            {
                Touch();
            }

            if (context.InterfaceMethod.Name is not (nameof(SeedFork) or nameof(Forget)))
            {
                await EnsureForkWrittenAsync();
            }

            var name = context.InterfaceMethod.Name;
            if (!Interleaved.Contains(name))
            {
                // A write other than an append.
                var turn = await TakeWriteTurnAsync();
                try
                {
                    if (KeepsHotLogs.Contains(name))
                    {
                        await context.Invoke();
                        return;
                    }

                    DropHotLogs();
                    try
                    {
                        await context.Invoke();
                    }
                    finally
                    {
                        DropHotLogs();
                    }
                }
                finally
                {
                    turn.SetResult();
                }

                return;
            }
        }

        await context.Invoke();
    }

    /// <inheritdoc />
    public async Task<long> PutSummary(string dataJson, long mtime, long expectedVersion) =>
        await TrashedAsync() ? throw Trashed() : await sessions.PutSummaryAsync(_state, dataJson, mtime, expectedVersion, CancellationToken.None);

    /// <inheritdoc />
    public async Task Rename(string title)
    {
        if (await TrashedAsync())
        {
            throw Trashed();
        }

        await sessions.RenameAsync(_state, title, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task Tag(string? tag)
    {
        if (await TrashedAsync())
        {
            throw Trashed();
        }

        await sessions.TagAsync(_state, tag, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task<bool> Delete(string? subpath, string actor)
    {
        if (subpath is not null && await TrashedAsync())
        {
            return false;
        }

        if (subpath is null)
        {
            await FinishForksAsync();
        }

        // Deleting a trashed session is erasure: it is purged at once, trash entry included.
        var removed = await sessions.DeleteAsync(_state, subpath, CancellationToken.None, actor);
        if (subpath is null)
        {
            _trashed = false;
            _mainExists = false;
        }

        return removed;
    }

    /// <inheritdoc />
    public async Task<Core.Storage.SessionRecord> GetInfo() =>
        await TrashedAsync() ? throw Trashed() : await sessions.GetInfoAsync(_state, CancellationToken.None);

    /// <inheritdoc />
    public async Task<TranscriptView> GetView(string? subpath, SiloAddress? caller)
    {
        if (await TrashedAsync())
        {
            return new TranscriptView(null, null);
        }

        if (!_state.Ephemeral && caller is not null && caller.Equals(silo.SiloAddress) && await HotViewAsync(subpath) is { } hot)
        {
            return hot;
        }

        var view = await sessions.GetViewAsync(_state, subpath, CancellationToken.None);
        return new TranscriptView(view.Length, view.Inline);
    }

    /// <inheritdoc />
    public async Task<string[]> ListSubkeys() =>
        await TrashedAsync() ? [] : [.. await sessions.ListSubkeysAsync(_state, CancellationToken.None)];

    /// <inheritdoc />
    public async Task<ExpireOutcome> Expire(long cutoff, Core.Storage.SessionRecord listed)
    {
        // No trash read first: the catalog's move is conditional on the session having a row.
        if (_trashed == true)
        {
            return ExpireOutcome.Missing;
        }

        var outcome = await sessions.ExpireAsync(_state, listed, cutoff, retention.HoldTags.ToList(), retention.GraceDays == 0, silo.Name, CancellationToken.None);
        if (outcome is ExpireOutcome.Trashed or ExpireOutcome.Purged or ExpireOutcome.Missing)
        {
            _mainExists = false;
        }

        if (outcome is ExpireOutcome.Trashed or ExpireOutcome.Purged)
        {
            _trashed = outcome == ExpireOutcome.Trashed;
            // A sweep may touch a hundred thousand sessions nobody uses: do not keep their activations.
            DeactivateOnIdle();
        }

        return outcome;
    }

    /// <inheritdoc />
    public async Task<PurgeOutcome> Purge(long trashedBefore)
    {
        await FinishForksAsync();
        var outcome = await sessions.PurgeAsync(_state, trashedBefore, silo.Name, CancellationToken.None);
        if (outcome is PurgeOutcome.Purged or PurgeOutcome.Restored)
        {
            _trashed = false;
        }

        if (outcome == PurgeOutcome.Purged)
        {
            _mainExists = false;
            DeactivateOnIdle();
        }

        return outcome;
    }

    /// <inheritdoc />
    public async Task Restore(string actor)
    {
        await sessions.RestoreAsync(_state, actor, CancellationToken.None);
        _trashed = false;
    }

    /// <inheritdoc />
    public Task Forget()
    {
        _state = sessions.Open(_tenant, _projectKey, _sessionId);
        _trashed = null;
        _mainExists = false;
        // The tenant's fork seeds and notes of unfinished forks are erased too: nothing is left to write.
        _seed = null;
        _unfinished = null;
        _seedCheck = Task.CompletedTask;
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RebuildRow(string deadWriter) => sessions.RebuildRowAsync(_state, deadWriter, CancellationToken.None);

    /// <inheritdoc />
    public Task MarkEphemeral()
    {
        sessions.MakeEphemeral(_state);
        Touch();
        var period = TimeSpan.FromTicks(Math.Clamp(options.EphemeralIdle.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromMinutes(1).Ticks));
        _idleCheck ??= this.RegisterGrainTimer(() =>
        {
            if (Environment.TickCount64 - _lastUse >= options.EphemeralIdle.TotalMilliseconds)
            {
                DelayDeactivation(TimeSpan.Zero);
                DeactivateOnIdle();
            }

            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(period, period) { KeepAlive = false });
        return Task.CompletedTask;
    }

    private SessionKey Key(string? subpath) => new(_projectKey, _sessionId, subpath);

    // An ephemeral session's use: the idle clock restarts, and the activation is not collected before it runs out.
    private void Touch()
    {
        _lastUse = Environment.TickCount64;
        DelayDeactivation(options.EphemeralIdle);
    }

    // Whether the session is in its tenant's trash: read from the catalog once per activation, when first needed (a
    // sweep's Expire and Purge do not need it), then kept, since every step in or out of the trash goes through here.
    private async ValueTask<bool> TrashedAsync() =>
        _trashed ??= await sessions.IsTrashedAsync(_tenant, _projectKey, _sessionId, CancellationToken.None);

    private NotFoundException Trashed() =>
        new("session_not_found", $"Session '{_sessionId}' was not found in project '{_projectKey}'.");

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Session {Tenant}/{ProjectKey}/{SessionId} deactivated without writing its held-back catalog row ({Reason}); the row is rebuilt from the transcript if this silo dies first")]
    private static partial void LogRowNotReleased(ILogger logger, string tenant, string projectKey, string sessionId, string reason);
}
