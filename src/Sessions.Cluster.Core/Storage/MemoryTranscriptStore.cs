using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// A transcript store held in process memory. Serves ephemeral sessions (persistence off: never written to the
/// durable store, gone when the process ends) and unit tests. Same contract as every <see cref="ITranscriptStore"/>.
/// An ephemeral session's grain holds a store of its own, so the bytes go when the activation goes.
/// </summary>
public sealed class MemoryTranscriptStore(TimeProvider timeProvider) : ITranscriptStore
{
    private readonly ConcurrentDictionary<(string Tenant, SessionKey Key), Log> _logs = new();

    /// <inheritdoc />
    public ITranscriptLog Open(string tenant, SessionKey key)
    {
        KeyRules.ValidateTenant(tenant);
        ArgumentNullException.ThrowIfNull(key);
        return new MemoryLog(this, tenant, key);
    }

    private Task<AppendResult> AppendAsync(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long? expectedLength)
    {
        var created = false;
        var log = _logs.GetOrAdd((tenant, key), _ =>
        {
            created = true;
            return new Log();
        });
        lock (log)
        {
            if (expectedLength is { } expected && expected != log.Bytes.Length)
            {
                throw new ConflictException("append_position_conflict", $"Expected transcript length {expected}, but it is {log.Bytes.Length}.", expected.ToString(System.Globalization.CultureInfo.InvariantCulture), log.Bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            var (write, duplicates) = AppendPlan.Plan(lines, log.Index, timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            foreach (var line in write)
            {
                log.Index.Add(line);
                log.Bytes.Write(line.Json.Span);
                log.Bytes.WriteByte((byte)'\n');
            }

            var appended = write.Count;
            var bytes = write.Sum(l => (long)l.Json.Length + 1);
            if (appended > 0 || created)
            {
                log.Mtime = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            }

            return Task.FromResult(new AppendResult(appended, duplicates, log.Bytes.Length, log.Mtime, created, bytes));
        }
    }

    private Task SetMtimeAsync(string tenant, SessionKey key, long mtime)
    {
        if (_logs.TryGetValue((tenant, key), out var log))
        {
            lock (log)
            {
                log.Mtime = mtime;
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        if (!_logs.TryGetValue((tenant, key), out var log))
        {
            return Task.FromResult<TranscriptStat?>(null);
        }

        lock (log)
        {
            return Task.FromResult<TranscriptStat?>(new TranscriptStat(key, log.Bytes.Length, log.Mtime));
        }
    }

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken)
    {
        if (!_logs.TryGetValue((tenant, key), out var log))
        {
            return Task.FromResult<Stream?>(null);
        }

        lock (log)
        {
            var all = log.Bytes.GetBuffer();
            var length = log.Bytes.Length;
            var start = (int)Math.Min(offset, length);
            var end = (int)Math.Min(length, count is { } c ? offset + c : length);
            return Task.FromResult<Stream?>(new MemoryStream(all[start..end], writable: false));
        }
    }

    private Task<bool> DeleteAsync(string tenant, SessionKey key)
    {
        var removed = _logs.TryRemove((tenant, key), out _);
        if (key.IsMain)
        {
            foreach (var k in _logs.Keys.Where(k => k.Tenant == tenant && k.Key.ProjectKey == key.ProjectKey && k.Key.SessionId == key.SessionId).ToList())
            {
                removed |= _logs.TryRemove(k, out _);
            }
        }

        return Task.FromResult(removed);
    }

    private async Task<ConditionalDelete> DeleteIfUnchangedAsync(string tenant, SessionKey key, long expectedLength)
    {
        if (!_logs.TryGetValue((tenant, key), out var log))
        {
            return ConditionalDelete.Missing;
        }

        lock (log)
        {
            if (log.Bytes.Length != expectedLength)
            {
                return ConditionalDelete.Changed;
            }

            _logs.TryRemove((tenant, key), out _);
        }

        await DeleteAsync(tenant, key).ConfigureAwait(false);
        return ConditionalDelete.Deleted;
    }

    /// <inheritdoc />
    public Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        var removed = 0;
        foreach (var k in _logs.Keys.Where(k => k.Tenant == tenant).ToList())
        {
            removed += _logs.TryRemove(k, out _) ? 1 : 0;
        }

        return Task.FromResult(removed);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(_logs.Keys
            .Where(k => k.Tenant == tenant && k.Key.ProjectKey == projectKey && k.Key.SessionId == sessionId && k.Key.Subpath is not null)
            .Select(k => k.Key.Subpath!).Order(StringComparer.Ordinal).ToList());

    /// <inheritdoc />
    public async IAsyncEnumerable<TranscriptStat> ListMainTranscriptsAsync(string tenant, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var k in _logs.Keys.Where(k => k.Tenant == tenant && k.Key.IsMain).ToList())
        {
            if (await StatAsync(tenant, k.Key, cancellationToken).ConfigureAwait(false) is { } stat)
            {
                yield return stat;
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListTenantsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var t in _logs.Keys.Select(k => k.Tenant).Distinct())
        {
            yield return t;
        }
    }

    // The store keeps the bytes; a handle only names its log.
    private sealed class MemoryLog(MemoryTranscriptStore store, string tenant, SessionKey key) : ITranscriptLog
    {
        public SessionKey Key => key;

        public Task<AppendResult> AppendAsync(IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken) =>
            store.AppendAsync(tenant, key, lines, expectedLength);

        public Task SetMtimeAsync(long mtime, CancellationToken cancellationToken) => store.SetMtimeAsync(tenant, key, mtime);

        public Task<TranscriptStat?> StatAsync(CancellationToken cancellationToken) => store.StatAsync(tenant, key, cancellationToken);

        public Task<Stream?> OpenReadAsync(long offset, long? count, CancellationToken cancellationToken) => store.OpenReadAsync(tenant, key, offset, count, cancellationToken);

        public Task<bool> DeleteAsync(CancellationToken cancellationToken) => store.DeleteAsync(tenant, key);

        public Task<ConditionalDelete> DeleteIfUnchangedAsync(long expectedLength, CancellationToken cancellationToken) =>
            key.IsMain ? store.DeleteIfUnchangedAsync(tenant, key, expectedLength) : throw new InvalidOperationException("Only a main transcript's log deletes its session.");
    }

    private sealed class Log
    {
        public MemoryStream Bytes { get; } = new();

        public LogIndex Index { get; } = new();

        public long Mtime { get; set; }
    }
}
