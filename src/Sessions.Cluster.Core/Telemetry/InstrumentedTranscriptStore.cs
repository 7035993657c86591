using System.Diagnostics;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Telemetry;

/// <summary>
/// Wraps any <see cref="ITranscriptStore"/> with a span and a <c>sessions.storage.duration</c> measurement per
/// operation, and counts appended entries and bytes. Keys appear in spans; entry contents never do.
/// </summary>
public sealed class InstrumentedTranscriptStore(ITranscriptStore inner, string backend) : ITranscriptStore
{
    /// <inheritdoc />
    public ITranscriptLog Open(string tenant, SessionKey key) => new InstrumentedLog(this, inner.Open(tenant, key), tenant);

    /// <inheritdoc />
    public Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken) =>
        MeasureAsync("stat", tenant, key, () => inner.StatAsync(tenant, key, cancellationToken));

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken) =>
        MeasureAsync("read", tenant, key, () => inner.OpenReadAsync(tenant, key, offset, count, cancellationToken));

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        MeasureAsync("list_subpaths", tenant, $"{projectKey}/{sessionId}", () => inner.ListSubpathsAsync(tenant, projectKey, sessionId, cancellationToken));

    /// <inheritdoc />
    public Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken) =>
        MeasureAsync("delete_tenant", tenant, "*", () => inner.DeleteTenantAsync(tenant, cancellationToken));

    /// <inheritdoc />
    public IAsyncEnumerable<TranscriptStat> ListMainTranscriptsAsync(string tenant, CancellationToken cancellationToken) => inner.ListMainTranscriptsAsync(tenant, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListTenantsAsync(CancellationToken cancellationToken) => inner.ListTenantsAsync(cancellationToken);

    private async Task<AppendResult> MeasureAppendAsync(string tenant, SessionKey key, Func<Task<AppendResult>> append)
    {
        var result = await MeasureAsync("append", tenant, key, append).ConfigureAwait(false);
        if (result.Appended > 0)
        {
            SessionsTelemetry.AppendedEntries.Add(result.Appended, new KeyValuePair<string, object?>("backend", backend));
            SessionsTelemetry.AppendedBytes.Add(result.Bytes, new KeyValuePair<string, object?>("backend", backend));
        }

        return result;
    }

    private async Task<T> MeasureAsync<T>(string operation, string tenant, object key, Func<Task<T>> call)
    {
        using var activity = SessionsTelemetry.ActivitySource.StartActivity($"storage {operation}", ActivityKind.Client);
        activity?.SetTag("sessions.backend", backend);
        activity?.SetTag("sessions.tenant", tenant);
        activity?.SetTag("sessions.key", key.ToString());
        var started = Stopwatch.GetTimestamp();
        var status = "ok";
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            status = ex is SessionsException se ? se.Code : "error";
            activity?.SetStatus(ActivityStatusCode.Error, status);
            throw;
        }
        finally
        {
            SessionsTelemetry.StorageDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("operation", operation),
                new KeyValuePair<string, object?>("backend", backend),
                new KeyValuePair<string, object?>("status", status));
        }
    }

    // The same measurements for the calls of one log's handle.
    private sealed class InstrumentedLog(InstrumentedTranscriptStore store, ITranscriptLog inner, string tenant) : ITranscriptLog
    {
        public SessionKey Key => inner.Key;

        public Task<AppendResult> AppendAsync(IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken) =>
            store.MeasureAppendAsync(tenant, Key, () => inner.AppendAsync(lines, expectedLength, cancellationToken));

        public bool WritesBatchesTogether => inner.WritesBatchesTogether;

        public async Task<IReadOnlyList<AppendResult>> AppendBatchesAsync(IReadOnlyList<IReadOnlyList<TranscriptLine>> batches, CancellationToken cancellationToken)
        {
            IReadOnlyList<AppendResult>? each = null;
            await store.MeasureAppendAsync(tenant, Key, async () =>
            {
                each = await inner.AppendBatchesAsync(batches, cancellationToken).ConfigureAwait(false);
                return Sessions.AppendedTogether.Combine(each);
            }).ConfigureAwait(false);
            return each!;
        }

        public Task SetMtimeAsync(long mtime, CancellationToken cancellationToken) => inner.SetMtimeAsync(mtime, cancellationToken);

        public Task<TranscriptStat?> StatAsync(CancellationToken cancellationToken) =>
            store.MeasureAsync("stat", tenant, Key, () => inner.StatAsync(cancellationToken));

        public Task<Stream?> OpenReadAsync(long offset, long? count, CancellationToken cancellationToken) =>
            store.MeasureAsync("read", tenant, Key, () => inner.OpenReadAsync(offset, count, cancellationToken));

        public Task<bool> DeleteAsync(CancellationToken cancellationToken) =>
            store.MeasureAsync("delete", tenant, Key, () => inner.DeleteAsync(cancellationToken));

        public Task<ConditionalDelete> DeleteIfUnchangedAsync(long expectedLength, CancellationToken cancellationToken) =>
            store.MeasureAsync("delete_if_unchanged", tenant, Key, () => inner.DeleteIfUnchangedAsync(expectedLength, cancellationToken));
    }
}
