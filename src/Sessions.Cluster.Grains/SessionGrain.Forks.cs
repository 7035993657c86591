using System.Text.Json;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using Sessions.Cluster.Core;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Forks as sibling grains. The parent's grain fixes the snapshot (Core's <c>SnapshotForkAsync</c>) and seeds the fork's
/// grain, which persists the seed before the fork call answers and writes the transcript from it right after, or before
/// the first call that comes sooner, on whichever silo it is then active: no other code waits for or "settles" a fork.
/// The parent remembers its unfinished forks (grain state too) and finishes them before it is deleted or purged, since
/// their seeds read its bytes. A fork that can never be written from those bytes (bad stored data) is dropped, logged
/// and audited (<see cref="Core.Storage.AuditReasons.ForkFailed"/>), so it never blocks its parent's delete, purge or
/// erasure; one that fails for an outage is tried again after a back-off (1 s doubling to 5 min, one log line a step).
/// </summary>
public sealed partial class SessionGrain
{
    private IGrainStorage? _storage;
    private GrainState<ForkSeedState>? _seed;
    private Task? _seedCheck;
    private GrainState<UnfinishedForksState>? _unfinished;
    private TimeSpan _seedBackoff;

    /// <summary>First wait before a seeded fork whose write failed for an outage is tried again; it doubles up to <see cref="MaxSeedBackoff"/>.</summary>
    internal static readonly TimeSpan FirstSeedBackoff = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between two tries of a seeded fork's write.</summary>
    internal static readonly TimeSpan MaxSeedBackoff = TimeSpan.FromMinutes(5);

    private IGrainStorage Storage => _storage ??= GrainStorageHelpers.GetGrainStorage(GetType(), ServiceProvider);

    /// <inheritdoc />
    public async Task<string> Fork(string? upToMessageId, string? title)
    {
        if (await TrashedAsync())
        {
            throw Trashed();
        }

        var snapshot = await sessions.SnapshotForkAsync(_state, upToMessageId, title, CancellationToken.None);
        var fork = GrainFactory.GetGrain<ISessionGrain>(SessionGrainKey.Format(_tenant, _projectKey, snapshot.ForkId));
        var command = ForkSeedCommand.From(snapshot);
        if (snapshot.WriteNow)
        {
            await fork.SeedFork(command);
        }
        else
        {
            // The catalog notes the fork first, so every grain state below is named there (a start finishes it, an
            // erasure clears it); then the seed and this parent's note of it are written side by side. The call answers
            // when all three are durable.
            await sessions.NoteUnfinishedForkAsync(_state, snapshot.ForkId, CancellationToken.None);
            await Task.WhenAll(RememberForkAsync(snapshot.ForkId), fork.SeedFork(command));
        }

        return snapshot.ForkId;
    }

    /// <inheritdoc />
    public async Task SeedFork(ForkSeedCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (command.EphemeralParent is { } bytes)
        {
            // An ephemeral parent's fork is ephemeral too: its bytes live in this grain's silo, like the parent's in its own.
            await MarkEphemeral();
            await sessions.WriteForkAsync(_state, command.ToSeed(), bytes, CancellationToken.None);
            _seedCheck = Task.CompletedTask;
            return;
        }

        if (command.WriteNow)
        {
            await sessions.WriteForkAsync(_state, command.ToSeed(), null, CancellationToken.None);
            _seedCheck = Task.CompletedTask;
            return;
        }

        _seed = new GrainState<ForkSeedState>(ForkSeedState.From(command.ToSeed()));
        await Storage.WriteStateAsync(ForkSeedState.StateName, this.GetGrainId(), _seed);
        _seedCheck = null;
        // Right after this call answers: a one-shot timer tick runs as a turn of its own (not interleaved), so calls
        // arriving meanwhile queue behind the write or, interleaving reads, wait for it in the call filter.
        ScheduleSeedWrite(TimeSpan.Zero);
    }

    // A one-shot tick that writes the seeded fork; after an outage it schedules the next try itself, with a back-off.
    private void ScheduleSeedWrite(TimeSpan dueTime)
    {
        IGrainTimer? timer = null;
        timer = this.RegisterGrainTimer(async () =>
        {
            timer?.Dispose();
            try
            {
                await EnsureForkWrittenAsync();
                _seedBackoff = TimeSpan.Zero;
            }
            catch (Exception ex)
            {
                // An outage (anything bad data causes was handled in the write): one log line per back-off step.
                _seedBackoff = _seedBackoff == TimeSpan.Zero ? FirstSeedBackoff : TimeSpan.FromTicks(Math.Min(_seedBackoff.Ticks * 2, MaxSeedBackoff.Ticks));
                LogSeedRetry(logger, ex, _tenant, _projectKey, _sessionId, _seedBackoff);
                ScheduleSeedWrite(_seedBackoff);
            }
        }, new GrainTimerCreationOptions(dueTime, Timeout.InfiniteTimeSpan));
    }

    /// <inheritdoc />
    public Task FinishFork() => Task.CompletedTask;

    /// <inheritdoc />
    public async Task ForkWritten(string forkId)
    {
        var unfinished = await UnfinishedAsync();
        if (unfinished.State!.ForkIds.Remove(forkId))
        {
            if (unfinished.State.ForkIds.Count == 0)
            {
                await Storage.ClearStateAsync(UnfinishedForksState.StateName, this.GetGrainId(), unfinished);
            }
            else
            {
                await Storage.WriteStateAsync(UnfinishedForksState.StateName, this.GetGrainId(), unfinished);
            }
        }

        // The fork's seed went before it told us, and our note now: no grain state of it is left to name.
        await sessions.ForgetUnfinishedForkAsync(_state, forkId, CancellationToken.None);
    }

    // Every call but SeedFork runs this first (the call filter): once per activation, the fork seed (if any) is read and
    // the fork's transcript written from it. Interleaving reads share the one run; a failure is retried by the next call.
    private Task EnsureForkWrittenAsync()
    {
        if (_seedCheck is { IsFaulted: true } or { IsCanceled: true })
        {
            _seedCheck = null;
        }

        return _seedCheck ??= FinishSeedAsync();
    }

    private async Task FinishSeedAsync()
    {
        if (_seed is null)
        {
            var read = new GrainState<ForkSeedState>();
            await Storage.ReadStateAsync(ForkSeedState.StateName, this.GetGrainId(), read);
            _seed = read;
        }

        if (!_seed.RecordExists)
        {
            return;
        }

        var seed = _seed.State!.ToSeed();
        try
        {
            await sessions.WriteForkAsync(_state, seed, null, CancellationToken.None);
        }
        catch (Exception ex) when (ex is NotFoundException or InvalidRequestException or Core.LimitExceededException)
        {
            // The parent went with its tenant (erasure), or the fork cannot be written after all: there is nothing
            // to write, ever, and this session stays one that does not exist.
        }
        catch (Exception ex) when (IsBadData(ex))
        {
            // The parent's stored bytes can never make this fork (a line no reader of ours can read): the fork is
            // dropped with whatever part of it was written, reported, and its parent told, so nothing waits for it.
            LogForkDropped(logger, ex, _tenant, _projectKey, _sessionId, seed.ParentSessionId);
            await sessions.DropFailedForkAsync(_state, seed.ParentSessionId, silo.Name, CancellationToken.None);
        }

        await Storage.ClearStateAsync(ForkSeedState.StateName, this.GetGrainId(), _seed);
        GrainFactory.GetGrain<ISessionGrain>(SessionGrainKey.Format(_tenant, _projectKey, seed.ParentSessionId)).ForkWritten(_sessionId).Ignore();
    }

    // Notes a fork about to be seeded, so this parent finishes it before it goes.
    private async Task RememberForkAsync(string forkId)
    {
        var unfinished = await UnfinishedAsync();
        unfinished.State!.ForkIds.Add(forkId);
        await Storage.WriteStateAsync(UnfinishedForksState.StateName, this.GetGrainId(), unfinished);
    }

    // Before this session's bytes go (delete, purge): every fork seeded from it writes its transcript first.
    private async Task FinishForksAsync()
    {
        var unfinished = await UnfinishedAsync();
        if (!unfinished.RecordExists)
        {
            return;
        }

        var forks = unfinished.State!.ForkIds.ToList();
        await Task.WhenAll(forks.Select(id => GrainFactory.GetGrain<ISessionGrain>(SessionGrainKey.Format(_tenant, _projectKey, id)).FinishFork()));
        unfinished.State!.ForkIds.Clear();
        await Storage.ClearStateAsync(UnfinishedForksState.StateName, this.GetGrainId(), unfinished);
        await Task.WhenAll(forks.Select(id => sessions.ForgetUnfinishedForkAsync(_state, id, CancellationToken.None)));
    }

    private async Task<GrainState<UnfinishedForksState>> UnfinishedAsync()
    {
        if (_unfinished is null)
        {
            var read = new GrainState<UnfinishedForksState>();
            await Storage.ReadStateAsync(UnfinishedForksState.StateName, this.GetGrainId(), read);
            _unfinished = read;
        }

        return _unfinished;
    }

    // Failures that come from the bytes being forked, not from storage being away: the same bytes fail the same way.
    // (ObjectDisposedException, an InvalidOperationException, comes from a silo shutting down: tried again later.)
    private static bool IsBadData(Exception ex) =>
        ex is not ObjectDisposedException && ex is JsonException or InvalidDataException or FormatException or System.Text.DecoderFallbackException
            or ArgumentException or InvalidOperationException or InsufficientExecutionStackException
        || (ex is SessionsException { IsTransient: false } && ex is not ConflictException);

    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "Fork {Tenant}/{ProjectKey}/{ForkId} of session {ParentId} cannot be written from its parent's stored bytes; it is dropped (audited as fork_failed)")]
    private static partial void LogForkDropped(ILogger logger, Exception exception, string tenant, string projectKey, string forkId, string parentId);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Fork {Tenant}/{ProjectKey}/{ForkId} could not be written (storage unavailable?); next try in {Backoff}")]
    private static partial void LogSeedRetry(ILogger logger, Exception exception, string tenant, string projectKey, string forkId, TimeSpan backoff);
}
