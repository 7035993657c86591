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
/// session is next used after a deactivation or on another silo.
/// </remarks>
public sealed class SessionGrain(SessionService sessions) : Grain, ISessionGrain
{
    private string _tenant = "";
    private string _projectKey = "";
    private string _sessionId = "";

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _projectKey, _sessionId) = SessionGrainKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<AppendAnswer> Append(AppendCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var lines = Array.ConvertAll(command.Entries, e => e.ToLine());
        var result = await sessions.AppendAsync(_tenant, Key(command.Subpath), lines, command.ExpectedLength, CancellationToken.None,
            new AppendOptions(command.IdempotencyKey, command.LastActivity));
        return AppendAnswer.From(result);
    }

    /// <inheritdoc />
    public Task<long> PutSummary(string dataJson, long mtime, long expectedVersion) =>
        sessions.PutSummaryAsync(_tenant, Key(null), dataJson, mtime, expectedVersion, CancellationToken.None);

    /// <inheritdoc />
    public Task Rename(string title) => sessions.RenameAsync(_tenant, _projectKey, _sessionId, title, CancellationToken.None);

    /// <inheritdoc />
    public Task Tag(string? tag) => sessions.TagAsync(_tenant, _projectKey, _sessionId, tag, CancellationToken.None);

    /// <inheritdoc />
    public Task<bool> Delete(string? subpath, string actor) => sessions.DeleteAsync(_tenant, Key(subpath), CancellationToken.None, actor);

    /// <inheritdoc />
    public async Task<SessionInfoAnswer> GetInfo() =>
        new(await sessions.GetInfoAsync(_tenant, _projectKey, _sessionId, CancellationToken.None));

    /// <inheritdoc />
    public async Task<TranscriptView> GetView(string? subpath)
    {
        var view = await sessions.GetViewAsync(_tenant, Key(subpath), CancellationToken.None);
        return new TranscriptView(view.Length, view.Inline);
    }

    /// <inheritdoc />
    public Task<string> Fork(string? upToMessageId, string? title) =>
        sessions.ForkAsync(_tenant, _projectKey, _sessionId, upToMessageId, title, CancellationToken.None);

    /// <inheritdoc />
    public Task MarkEphemeral()
    {
        sessions.RegisterEphemeral(_tenant, _projectKey, _sessionId);
        return Task.CompletedTask;
    }

    private SessionKey Key(string? subpath) => new(_projectKey, _sessionId, subpath);
}
