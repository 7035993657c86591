using System.Collections.Concurrent;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The answers of appends that carried an <c>Idempotency-Key</c>, per (tenant, log, key), kept for
/// <see cref="RetentionMs"/> (one hour: the SDK retries a rejected append twice with short backoff and never retries a
/// timeout, so its retries arrive within seconds). A call repeating a key the log has seen writes nothing and answers
/// as the first call did. Calls with the same key are serialized, so a retry racing its original waits for it.
/// Kept in the memory of the silo whose session grain made the append (every append of a session goes through its grain,
/// so a retry through any node finds the key while that silo lives); at most <see cref="Capacity"/> keys, the oldest
/// dropped first.
/// </summary>
public sealed class IdempotencyKeys(TimeProvider timeProvider)
{
    /// <summary>How long a key is remembered: one hour.</summary>
    public const long RetentionMs = 60 * 60 * 1000;

    /// <summary>Most keys remembered by one node.</summary>
    public const int Capacity = 200_000;

    /// <summary>Longest key accepted, in characters.</summary>
    public const int MaxKeyLength = 200;

    private readonly ConcurrentDictionary<(string Tenant, SessionKey Key, string IdempotencyKey), (AppendResult Result, long At)> _answers = new();
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 256).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    /// <summary>Runs <paramref name="append"/> once per key: a repeated key answers the stored result.</summary>
    public async Task<AppendResult> RunOnceAsync(string tenant, SessionKey key, string idempotencyKey, Func<Task<AppendResult>> append, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(append);
        var id = (tenant, key, idempotencyKey);
        var gate = _locks[(int)((uint)id.GetHashCode() % (uint)_locks.Length)];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            if (_answers.TryGetValue(id, out var seen) && now - seen.At <= RetentionMs)
            {
                return seen.Result;
            }

            var result = await append().ConfigureAwait(false);
            _answers[id] = (result, now);
            if (_answers.Count > Capacity)
            {
                Prune(now);
            }

            return result;
        }
        finally
        {
            gate.Release();
        }
    }

    private void Prune(long now)
    {
        foreach (var (id, entry) in _answers)
        {
            if (now - entry.At > RetentionMs)
            {
                _answers.TryRemove(id, out _);
            }
        }

        if (_answers.Count > Capacity)
        {
            foreach (var id in _answers.OrderBy(e => e.Value.At).Take(_answers.Count - (Capacity * 3 / 4)).Select(e => e.Key).ToList())
            {
                _answers.TryRemove(id, out _);
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
