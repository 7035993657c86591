using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.AgentFramework;

/// <summary>
/// A <see cref="ChatHistoryProvider"/> that keeps each agent session's messages in a Sessions.Cluster session
/// (<see cref="TranscriptMessages"/>: Claude-Code-shaped entries), so the history outlives the process and the machine:
/// any host with the session id resumes it (<see cref="Resume"/>), a fork continues from any message
/// (<see cref="ForkAsync"/>), and the console, search, retention and holds apply to it as to any session.
/// </summary>
/// <remarks>
/// The agent session holds which Sessions.Cluster session it is and how long its transcript was when this host last read
/// or wrote it (its state bag, serialized with the session); the messages are read from the server once at the start of
/// each run and the run's new messages appended at its end, in one append that carries an idempotency key (a retried
/// append is written once) and the length read (a compare-and-append): when another host added to the conversation in
/// between, the append is refused, the transcript read again and the messages chained after what the other host wrote —
/// never two branches from one message. A new agent session gets a new session id on its first run. An <see cref="IChatReducer"/> (<see cref="SessionsChatHistoryOptions.ChatReducer"/>) shapes what the
/// model is given, never what is stored.
/// </remarks>
public sealed class SessionsChatHistoryProvider : ChatHistoryProvider
{
    private readonly SessionsClient _client;
    private readonly SessionsChatHistoryOptions _options;
    private readonly ProviderSessionState<SessionsChatHistoryState> _state;

    /// <summary>Creates the provider over a client (e.g. from <c>AddSessionsClient</c>).</summary>
    /// <param name="client">The client.</param>
    /// <param name="options">The project key the sessions go under, and the optional reducer.</param>
    /// <exception cref="ArgumentException">No project key.</exception>
    public SessionsChatHistoryProvider(SessionsClient client, SessionsChatHistoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ProjectKey);
        _client = client;
        _options = options;
        _state = new ProviderSessionState<SessionsChatHistoryState>(_ => new SessionsChatHistoryState { SessionId = Guid.NewGuid().ToString() }, StateKey, null);
    }

    /// <summary>The key of this provider's state in an agent session's state bag.</summary>
    public const string StateKey = nameof(SessionsChatHistoryProvider);

    /// <inheritdoc />
    public override IReadOnlyList<string> StateKeys => [StateKey];

    /// <summary>The Sessions.Cluster session id an agent session's messages are kept under (made on first use).</summary>
    public string SessionId(AgentSession session) => _state.GetOrInitializeState(session).SessionId;

    /// <summary>
    /// Binds an agent session to an existing Sessions.Cluster session: its next run starts from that session's messages
    /// (resume on any host by session id, or continue a session Claude Code or another agent wrote).
    /// </summary>
    /// <param name="session">The agent session (e.g. a new one from <c>agent.CreateSessionAsync()</c>).</param>
    /// <param name="sessionId">The Sessions.Cluster session id.</param>
    public void Resume(AgentSession session, string sessionId)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentException.ThrowIfNullOrWhiteSpace(sessionId);
        _state.SaveState(session, new SessionsChatHistoryState { SessionId = sessionId });
    }

    /// <summary>
    /// Forks the conversation of <paramref name="from"/> at a message (mirrors the Agent SDK's <c>forkSession</c>, on the
    /// server) and binds <paramref name="into"/> to the fork: it continues from that message, and the original is unchanged.
    /// </summary>
    /// <param name="from">The agent session forked.</param>
    /// <param name="into">The agent session that continues the fork.</param>
    /// <param name="upToMessageUuid">The uuid of the last entry the fork keeps, or null for all of it.</param>
    /// <param name="title">The fork's title, or null for the server's ("… (fork)").</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The fork's session id.</returns>
    /// <exception cref="SessionsNotFoundException">The session or message does not exist.</exception>
    public async Task<string> ForkAsync(AgentSession from, AgentSession into, string? upToMessageUuid, string? title, CancellationToken cancellationToken)
    {
        var fork = await _client.ForkAsync(_options.ProjectKey, SessionId(from), upToMessageUuid, title, cancellationToken).ConfigureAwait(false);
        Resume(into, fork);
        return fork;
    }

    /// <summary>The entries' uuids of an agent session's conversation, oldest first (the fork points).</summary>
    public async Task<IReadOnlyList<string>> ListMessageUuidsAsync(AgentSession session, CancellationToken cancellationToken)
    {
        var transcript = await _client.GetTranscriptAsync(_options.ProjectKey, SessionId(session), null, cancellationToken).ConfigureAwait(false);
        return transcript is null ? [] : TranscriptMessages.ChainUuids(transcript);
    }

    /// <inheritdoc />
    protected override async ValueTask<IEnumerable<ChatMessage>> ProvideChatHistoryAsync(InvokingContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var state = _state.GetOrInitializeState(context.Session);
        var transcript = await _client.GetTranscriptAsync(_options.ProjectKey, state.SessionId, null, cancellationToken).ConfigureAwait(false);
        if (transcript is null)
        {
            Remember(context.Session, state, 0, null);
            return [];
        }

        var (messages, last) = TranscriptMessages.FromTranscript(transcript);
        Remember(context.Session, state, transcript.Length, last);
        return _options.ChatReducer is { } reducer ? await reducer.ReduceAsync(messages, cancellationToken).ConfigureAwait(false) : messages;
    }

    /// <inheritdoc />
    protected override async ValueTask StoreChatHistoryAsync(InvokedContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InvokeException is not null)
        {
            return;
        }

        var state = _state.GetOrInitializeState(context.Session);
        var messages = context.RequestMessages.Concat(context.ResponseMessages ?? []).ToList();
        if (messages.Count == 0)
        {
            return;
        }

        // Chained after the conversation as this run read it, appended only if nobody added to it since; else read again.
        for (var attempt = 1; ; attempt++)
        {
            if (state.Length is not { } length)
            {
                var transcript = await _client.GetTranscriptAsync(_options.ProjectKey, state.SessionId, null, cancellationToken).ConfigureAwait(false);
                Remember(context.Session, state, transcript?.Length ?? 0, transcript is null ? null : TranscriptMessages.FromTranscript(transcript).LastUuid);
                length = state.Length!.Value;
            }

            var (lines, last) = TranscriptMessages.ToEntries(messages, state.SessionId, state.LastUuid, DateTimeOffset.UtcNow);
            try
            {
                var appended = await _client.AppendLinesAsync(_options.ProjectKey, state.SessionId, null, lines, length, cancellationToken).ConfigureAwait(false);
                Remember(context.Session, state, appended.Length, last ?? state.LastUuid);
                return;
            }
            catch (SessionsConflictException e) when (e.Code == "append_position_conflict" && attempt < MaxAppendAttempts)
            {
                state.Length = null;
            }
        }
    }

    /// <summary>How many times a run's append is tried when other hosts keep adding to the conversation meanwhile.</summary>
    public const int MaxAppendAttempts = 5;

    private void Remember(AgentSession? session, SessionsChatHistoryState state, long length, string? lastUuid)
    {
        state.Length = length;
        state.LastUuid = lastUuid;
        _state.SaveState(session, state);
    }
}

/// <summary>Options of <see cref="SessionsChatHistoryProvider"/>.</summary>
public sealed class SessionsChatHistoryOptions
{
    /// <summary>The project key the agent's sessions are kept under (1–512 characters, no <c>/</c>, <c>\</c> or <c>..</c>), e.g. the agent's name.</summary>
    public string ProjectKey { get; set; } = "";

    /// <summary>Shapes the messages the model is given (e.g. <c>MessageCountingChatReducer</c>); the stored history is whole.</summary>
    public IChatReducer? ChatReducer { get; set; }
}

/// <summary>What an agent session remembers of its Sessions.Cluster session (its state bag entry).</summary>
public sealed class SessionsChatHistoryState
{
    /// <summary>The Sessions.Cluster session id.</summary>
    public string SessionId { get; set; } = "";

    /// <summary>The transcript's length in bytes when this host last read or wrote it, or null when not known (the next append reads it).</summary>
    public long? Length { get; set; }

    /// <summary>The uuid of the conversation's last entry as of <see cref="Length"/> (what the next messages chain after), or null.</summary>
    public string? LastUuid { get; set; }
}
