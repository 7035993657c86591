using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// One session's answers of appends that carried an <c>Idempotency-Key</c>, per (log, key), kept for
/// <see cref="RetentionMs"/> (one hour: the SDK retries a rejected append twice with short backoff and never retries a
/// timeout, so its retries arrive within seconds). A call repeating a key the log has seen writes nothing and answers
/// as the first call did. Held by the session's state (<see cref="SessionState.Answers"/>), so in the memory of the
/// silo where the session's grain is active, as long as the activation lives; at most <see cref="Capacity"/> keys per
/// session, the oldest dropped first. Calls are ordered by the grain, so a retry never races its original here.
/// </summary>
public sealed class IdempotencyKeys
{
    /// <summary>How long a key is remembered: one hour.</summary>
    public const long RetentionMs = 60 * 60 * 1000;

    /// <summary>Most keys remembered for one session.</summary>
    public const int Capacity = 10_000;

    /// <summary>Longest key accepted, in characters.</summary>
    public const int MaxKeyLength = 200;

    private readonly Dictionary<(string Subpath, string IdempotencyKey), (AppendResult Result, long At)> _answers = [];

    internal IdempotencyKeys()
    {
    }

    /// <summary>Runs <paramref name="append"/> once per key: a repeated key answers the stored result.</summary>
    /// <param name="subpath">The log's subpath, or null for the main transcript.</param>
    /// <param name="idempotencyKey">The call's key.</param>
    /// <param name="now">The time now, Unix epoch ms.</param>
    /// <param name="append">The append to run when the key is new.</param>
    public async Task<AppendResult> RunOnceAsync(string? subpath, string idempotencyKey, long now, Func<Task<AppendResult>> append)
    {
        ArgumentNullException.ThrowIfNull(append);
        if (_answers.TryGetValue((subpath ?? "", idempotencyKey), out var seen) && now - seen.At <= RetentionMs)
        {
            return seen.Result;
        }

        var result = await append().ConfigureAwait(false);
        Remember(subpath, idempotencyKey, now, result);
        return result;
    }

    /// <summary>Whether a call with this key would answer a stored result (the key was seen within <see cref="RetentionMs"/>).</summary>
    internal bool Knows(string? subpath, string idempotencyKey, long now) =>
        _answers.TryGetValue((subpath ?? "", idempotencyKey), out var seen) && now - seen.At <= RetentionMs;

    /// <summary>Stores the answer of an append made with this key (one of several written together).</summary>
    internal void Remember(string? subpath, string idempotencyKey, long now, AppendResult result)
    {
        _answers[(subpath ?? "", idempotencyKey)] = (result, now);
        if (_answers.Count > Capacity)
        {
            Prune(now);
        }
    }

    private void Prune(long now)
    {
        foreach (var (id, entry) in _answers.ToList())
        {
            if (now - entry.At > RetentionMs)
            {
                _answers.Remove(id);
            }
        }

        if (_answers.Count > Capacity)
        {
            foreach (var id in _answers.OrderBy(e => e.Value.At).Take(_answers.Count - (Capacity * 3 / 4)).Select(e => e.Key).ToList())
            {
                _answers.Remove(id);
            }
        }
    }
}

/// <summary>What an append may carry besides its entries.</summary>
/// <param name="IdempotencyKey">The call's <c>Idempotency-Key</c>: the same key on a retry writes nothing (at most <see cref="IdempotencyKeys.MaxKeyLength"/> characters).</param>
/// <param name="LastActivity">An imported file's mtime (Unix epoch ms): the session's last activity when it is earlier than now.</param>
/// <param name="Summary">The summary sidecar to store with the entries (main transcript only), see <see cref="SummaryWrite"/>.</param>
/// <param name="MainExists">The caller (the session's single writer) knows the session's main transcript exists, so a
/// subpath append need not check it in storage.</param>
public sealed record AppendOptions(string? IdempotencyKey = null, long? LastActivity = null, SummaryWrite? Summary = null, bool MainExists = false);
