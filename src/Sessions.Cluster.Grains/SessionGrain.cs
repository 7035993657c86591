using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Sessions;
using SessionKey = Sessions.Cluster.Core.SessionKey;

namespace Sessions.Cluster.Grains;

/// <summary>
/// The single writer of one session (<see cref="ISessionGrain"/>). Orleans runs one call at a time per activation, so
/// appends from every node are ordered here; the storage fence below it (append position / file length) still
/// refuses a second activation's write during a membership change. The SDK-equivalent logic is Core's
/// <see cref="SessionService"/>: this grain only gives it one place per session and one order.
/// </summary>
/// <remarks>
/// What answers need stays in this silo's memory while the grain is active: the log's index (uuids, committed length)
/// in the transcript store, the head/tail windows behind info in the service. Both are rebuilt from storage when the
/// session is next used after a deactivation or on another silo. Whether the session is in its tenant's trash is read
/// from the catalog on activation and kept here, since every step in or out of the trash goes through this grain.
/// </remarks>
public sealed class SessionGrain(SessionService sessions, RetentionOptions retention, TenantReminders reminders, ILocalSiloDetails silo) : Grain, ISessionGrain
{
    private string _tenant = "";
    private string _projectKey = "";
    private string _sessionId = "";
    private bool _trashed;
    private bool _reminded;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _projectKey, _sessionId) = SessionGrainKey.Parse(this.GetPrimaryKeyString());
        _trashed = await sessions.IsTrashedAsync(_tenant, _projectKey, _sessionId, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<AppendAnswer> Append(AppendCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var lines = Array.ConvertAll(command.Entries, e => e.ToLine());
        if (_trashed && lines.Length > 0)
        {
            // A write to a session in the trash (a host that kept it open past its retention) brings it back first.
            await sessions.RestoreAsync(_tenant, _projectKey, _sessionId, "append", CancellationToken.None);
            _trashed = false;
        }

        var result = await sessions.AppendAsync(_tenant, Key(command.Subpath), lines, command.ExpectedLength, CancellationToken.None,
            new AppendOptions(command.IdempotencyKey, command.LastActivity));
        if (result.Appended > 0 && !_reminded)
        {
            _reminded = true;
            _ = reminders.EnsureAsync(_tenant).ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }

        return AppendAnswer.From(result);
    }

    /// <inheritdoc />
    public Task<long> PutSummary(string dataJson, long mtime, long expectedVersion) =>
        _trashed ? throw Trashed() : sessions.PutSummaryAsync(_tenant, Key(null), dataJson, mtime, expectedVersion, CancellationToken.None);

    /// <inheritdoc />
    public Task Rename(string title) => _trashed ? throw Trashed() : sessions.RenameAsync(_tenant, _projectKey, _sessionId, title, CancellationToken.None);

    /// <inheritdoc />
    public Task Tag(string? tag) => _trashed ? throw Trashed() : sessions.TagAsync(_tenant, _projectKey, _sessionId, tag, CancellationToken.None);

    /// <inheritdoc />
    public async Task<bool> Delete(string? subpath, string actor)
    {
        if (_trashed && subpath is not null)
        {
            return false;
        }

        // Deleting a trashed session is erasure: it is purged at once, trash entry included.
        var removed = await sessions.DeleteAsync(_tenant, Key(subpath), CancellationToken.None, actor);
        _trashed &= subpath is not null;
        return removed;
    }

    /// <inheritdoc />
    public async Task<SessionInfoAnswer> GetInfo() =>
        _trashed ? throw Trashed() : new(await sessions.GetInfoAsync(_tenant, _projectKey, _sessionId, CancellationToken.None));

    /// <inheritdoc />
    public async Task<TranscriptView> GetView(string? subpath)
    {
        if (_trashed)
        {
            return new TranscriptView(null, null);
        }

        var view = await sessions.GetViewAsync(_tenant, Key(subpath), CancellationToken.None);
        return new TranscriptView(view.Length, view.Inline);
    }

    /// <inheritdoc />
    public Task<string> Fork(string? upToMessageId, string? title) =>
        _trashed ? throw Trashed() : sessions.ForkAsync(_tenant, _projectKey, _sessionId, upToMessageId, title, CancellationToken.None);

    /// <inheritdoc />
    public async Task<ExpireOutcome> Expire(long cutoff)
    {
        if (_trashed)
        {
            return ExpireOutcome.Missing;
        }

        var outcome = await sessions.ExpireAsync(_tenant, _projectKey, _sessionId, cutoff, retention.HoldTags.ToList(), retention.GraceDays == 0, silo.Name, CancellationToken.None);
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
        var outcome = await sessions.PurgeAsync(_tenant, _projectKey, _sessionId, trashedBefore, silo.Name, CancellationToken.None);
        if (outcome is PurgeOutcome.Purged or PurgeOutcome.Restored)
        {
            _trashed = false;
        }

        if (outcome == PurgeOutcome.Purged)
        {
            DeactivateOnIdle();
        }

        return outcome;
    }

    /// <inheritdoc />
    public async Task Restore(string actor)
    {
        await sessions.RestoreAsync(_tenant, _projectKey, _sessionId, actor, CancellationToken.None);
        _trashed = false;
    }

    /// <inheritdoc />
    public Task MarkEphemeral()
    {
        sessions.RegisterEphemeral(_tenant, _projectKey, _sessionId);
        return Task.CompletedTask;
    }

    private SessionKey Key(string? subpath) => new(_projectKey, _sessionId, subpath);

    private NotFoundException Trashed() =>
        new("session_not_found", $"Session '{_sessionId}' was not found in project '{_projectKey}'.");
}
