using System.Text.Json.Nodes;
using Orleans.Runtime;
using Polly;
using Polly.Retry;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Grains;

namespace Sessions.Cluster.Server;

/// <summary>
/// How HTTP handlers reach a session: every write, info and view goes to the session's <see cref="ISessionGrain"/>
/// (on whichever silo holds it); bulk bytes are then read from storage here, up to the length the grain fixed.
/// A call that fails because a silo died or membership is settling is retried within <see cref="RetryBudget"/>, then
/// answered as <see cref="ClusterUnavailableException"/> (503 with Retry-After), never 500.
/// </summary>
public sealed class SessionGrains
{
    /// <summary>How long one request keeps retrying a grain call whose silo is unavailable.</summary>
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(10);

    private readonly IGrainFactory _grains;
    private readonly SessionService _sessions;
    private readonly SiloAddress? _silo;
    private readonly ResiliencePipeline _retry;

    /// <summary>
    /// Creates the facade over the silo's grain factory and the node's session service; <paramref name="silo"/> is the
    /// node's own silo, whose session grains hand their hot bytes to it without copying them.
    /// </summary>
    public SessionGrains(IGrainFactory grains, SessionService sessions, ILocalSiloDetails silo)
        : this(grains, sessions, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), 12, silo?.SiloAddress)
    {
    }

    /// <summary>Creates the facade with its own retry timing: the first delay, the longest delay and the attempts after the first.</summary>
    internal SessionGrains(IGrainFactory grains, SessionService sessions, TimeSpan delay, TimeSpan maxDelay, int retries, SiloAddress? silo = null)
    {
        _grains = grains;
        _sessions = sessions;
        _silo = silo;
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<OrleansMessageRejectionException>().Handle<TimeoutException>(),
                BackoffType = DelayBackoffType.Exponential,
                Delay = delay,
                MaxDelay = maxDelay,
                // By default 0.1 + 0.2 + 0.4 + 0.8 + 8 × 1 s: about RetryBudget of waiting, plus the attempts themselves.
                MaxRetryAttempts = retries,
            })
            .Build();
    }

    /// <summary>The node's session service (listings, search and other catalog reads need no grain).</summary>
    public SessionService Sessions => _sessions;

    /// <summary>Appends through the session's grain (SessionStore <c>append</c>).</summary>
    public async Task<AppendResult> AppendAsync(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long? expectedLength, AppendOptions options, CancellationToken cancellationToken)
    {
        // A retry after a lost answer must not write the batch twice: every call carries an idempotency key.
        var command = new AppendCommand(key.Subpath, lines.Select(EntryMessage.From).ToArray(), expectedLength,
            options.IdempotencyKey ?? "node:" + Guid.NewGuid().ToString("N"), options.LastActivity,
            options.Summary);
        return await CallAsync(tenant, key, g => g.Append(command), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Compare-and-swap of the summary sidecar through the grain.</summary>
    public Task<long> PutSummaryAsync(string tenant, SessionKey key, string dataJson, long mtime, long expectedVersion, CancellationToken cancellationToken) =>
        CallAsync(tenant, key, g => g.PutSummary(dataJson, mtime, expectedVersion), cancellationToken);

    /// <summary>Renames (mirrors the SDK's renameSession).</summary>
    public Task RenameAsync(string tenant, string projectKey, string sessionId, string title, CancellationToken cancellationToken) =>
        CallAsync(tenant, new SessionKey(projectKey, sessionId), async g => { await g.Rename(title).ConfigureAwait(false); return true; }, cancellationToken);

    /// <summary>Tags (mirrors the SDK's tagSession); null clears.</summary>
    public Task TagAsync(string tenant, string projectKey, string sessionId, string? tag, CancellationToken cancellationToken) =>
        CallAsync(tenant, new SessionKey(projectKey, sessionId), async g => { await g.Tag(tag).ConfigureAwait(false); return true; }, cancellationToken);

    /// <summary>Deletes a session or one subpath; false when nothing existed.</summary>
    public Task<bool> DeleteAsync(string tenant, SessionKey key, string actor, CancellationToken cancellationToken) =>
        CallAsync(tenant, key, g => g.Delete(key.Subpath, actor), cancellationToken);

    /// <summary>Forks (mirrors the SDK's forkSession) through the parent's grain; returns the fork's id.</summary>
    public Task<string> ForkAsync(string tenant, string projectKey, string sessionId, string? upToMessageId, string? title, CancellationToken cancellationToken) =>
        CallAsync(tenant, new SessionKey(projectKey, sessionId), g => g.Fork(upToMessageId, title), cancellationToken);

    /// <summary>SessionStore <c>listSubkeys</c> through the session's grain (empty for a trashed session).</summary>
    public async Task<IReadOnlyList<string>> ListSubkeysAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        await CallAsync(tenant, new SessionKey(projectKey, sessionId), g => g.ListSubkeys(), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// The session's subagent ids (mirrors the SDK's listSubagents): the <c>&lt;id&gt;</c> of every subpath
    /// <c>subagents/…/agent-&lt;id&gt;</c>, each once, in subpath order.
    /// </summary>
    public async Task<List<string>> ListSubagentsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        [.. (await ListSubkeysAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false))
            .Where(k => k.StartsWith("subagents/", StringComparison.Ordinal))
            .Select(k => k[(k.LastIndexOf('/') + 1)..])
            .Where(name => name.StartsWith("agent-", StringComparison.Ordinal))
            .Select(name => name["agent-".Length..])
            .Distinct()];

    /// <summary>Brings a session back from its tenant's trash through its grain.</summary>
    /// <exception cref="NotFoundException">It is not in the trash (<c>not_in_trash</c>).</exception>
    public Task RestoreAsync(string tenant, string projectKey, string sessionId, string actor, CancellationToken cancellationToken) =>
        CallAsync(tenant, new SessionKey(projectKey, sessionId), async g => { await g.Restore(actor).ConfigureAwait(false); return true; }, cancellationToken);

    /// <summary>Sweeps a tenant now through its retention grain (the one its reminder ticks), one sweep at a time.</summary>
    public Task<Core.Retention.SweepReport> SweepAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var grain = _grains.GetGrain<IRetentionGrain>(tenant);
        return RunAsync(() => grain.Sweep(), cancellationToken);
    }

    /// <summary>The session's info (mirrors the SDK's getSessionInfo).</summary>
    public async Task<SessionRecord> GetInfoAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        await CallAsync(tenant, new SessionKey(projectKey, sessionId), g => g.GetInfo(), cancellationToken).ConfigureAwait(false);

    /// <summary>Creates a session id; an ephemeral session is registered with its grain, the only place it will live.</summary>
    public async Task<string> CreateAsync(string tenant, string projectKey, bool ephemeral, CancellationToken cancellationToken)
    {
        var id = _sessions.Create(tenant, projectKey);
        if (ephemeral)
        {
            await CallAsync(tenant, new SessionKey(projectKey, id), async g => { await g.MarkEphemeral().ConfigureAwait(false); return true; }, cancellationToken).ConfigureAwait(false);
        }

        return id;
    }

    /// <summary>
    /// Opens a log's committed bytes (JSONL) at the length its grain fixes now; null when never written. The bytes
    /// stream from storage; only an ephemeral session's come from the grain.
    /// </summary>
    public Task<(Stream Content, long Length)?> OpenTranscriptAsync(string tenant, SessionKey key, CancellationToken cancellationToken) =>
        _sessions.OpenTranscriptAsync(tenant, key, cancellationToken, ViewsOf(tenant));

    /// <summary>
    /// The SDK's getSessionMessages as the session's grain answers it: a JSON array written as <c>JSON.stringify</c>
    /// writes it (the page only crosses silos; the API sends these bytes as they are).
    /// </summary>
    /// <exception cref="NotFoundException">No such session.</exception>
    /// <exception cref="InvalidRequestException">A negative offset or limit (<c>invalid_paging</c>).</exception>
    public Task<JsonAnswer> GetMessagesAsync(string tenant, SessionKey key, bool includeSystemMessages, int offset, int? limit, CancellationToken cancellationToken) =>
        CallAsync(tenant, key, g => g.GetMessages(key.Subpath, includeSystemMessages, offset, limit), cancellationToken);

    /// <summary>The SDK's getSubagentMessages as the session's grain answers it (a JSON array).</summary>
    /// <exception cref="NotFoundException">No such session or subagent.</exception>
    public Task<JsonAnswer> GetSubagentMessagesAsync(string tenant, string projectKey, string sessionId, string agentId, int offset, int? limit, CancellationToken cancellationToken) =>
        CallAsync(tenant, new SessionKey(projectKey, sessionId), g => g.GetSubagentMessages(agentId, offset, limit), cancellationToken);

    /// <summary>An answer of the console's transcript reader, built by the session's grain from its model of the transcript (see <see cref="ISessionGrain.GetTranscriptPage"/>).</summary>
    public Task<JsonAnswer> GetTranscriptPageAsync(string tenant, string projectKey, string sessionId, TranscriptPageRequest request, CancellationToken cancellationToken) =>
        CallAsync(tenant, new SessionKey(projectKey, sessionId), g => g.GetTranscriptPage(request), cancellationToken);

    /// <summary>Context after compaction as the session's grain answers it (a JSON array).</summary>
    public Task<JsonAnswer> GetContextAsync(string tenant, SessionKey key, CancellationToken cancellationToken) =>
        CallAsync(tenant, key, g => g.GetContext(key.Subpath), cancellationToken);

    /// <summary>A grain's JSON answer as the objects it holds (read with the entry depth limit, as every reader of entries is).</summary>
    public static List<JsonObject> Items(JsonAnswer answer) =>
        Core.Sdk.JsJson.Parse(answer.Utf8) is JsonArray items ? [.. items.OfType<JsonObject>()] : [];

    // Reads take their view of a log from the session's grain.
    private LogViewSource ViewsOf(string tenant) => async (key, ct) =>
        (await CallAsync(tenant, key, g => g.GetView(key.Subpath, _silo), ct).ConfigureAwait(false)).ToLogView();

    // One grain call: the tenant validated first (a bad key is a 400, not a grain; a SessionKey is valid once made),
    // faults rethrown as the Core errors they carry, unavailable silos retried within the budget.
    private async Task<T> CallAsync<T>(string tenant, SessionKey key, Func<ISessionGrain, Task<T>> call, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        ArgumentNullException.ThrowIfNull(key);
        var grain = _grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, key.ProjectKey, key.SessionId));
        return await RunAsync(() => call(grain), cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await _retry.ExecuteAsync(async _ => await call().ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (SessionFault fault)
        {
            throw fault.ToException();
        }
        catch (Exception e) when (e is OrleansMessageRejectionException or TimeoutException)
        {
            throw new ClusterUnavailableException($"The grain could not be reached within {RetryBudget.TotalSeconds:0} s ({e.GetType().Name}: {e.Message}); retry shortly.", e);
        }
    }
}
