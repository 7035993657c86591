using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Storage.AzureBlob;

/// <summary>
/// Transcripts as Azure append blobs in Claude Code's naming, one container for all tenants:
/// <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>, subpaths at
/// <c>&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;/&lt;subpath&gt;.jsonl</c>.
/// </summary>
/// <remarks>
/// <para>Blobs are reached through the Azure SDK (<see cref="BlobLogClient"/>). Every Append Block carries
/// <c>IfAppendPositionEqual</c> = the length this writer last saw, so writers (a session's grain, and a brief duplicate
/// activation during a membership change) never interleave: a 412 means another node wrote or an earlier attempt of ours landed. The store then re-reads the
/// tail: if it holds exactly our block, the block is done; otherwise it reloads the uuids written since and
/// re-plans the remaining entries (uuid dedupe via <see cref="AppendPlan"/>).</para>
/// <para>Entries are packed into blocks of whole lines of at most 4 MiB, so a committed blob never ends inside a
/// line and readers never see a partial one. A log approaching the 50,000-block limit rolls over to segment
/// <c>&lt;name&gt;.1</c>, <c>&lt;name&gt;.2</c>, …; readers concatenate segments and see one log.</para>
/// </remarks>
public sealed class AzureBlobTranscriptStore : ITranscriptStore
{
    private const string Extension = ".jsonl";
    private readonly BlobLogClient _client;
    private readonly AzureBlobOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 512).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ConcurrentDictionary<string, LogState> _states = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _containerGate = new(1, 1);
    private volatile bool _containerReady;

    /// <summary>Creates the store; the container is created on first use.</summary>
    public AzureBlobTranscriptStore(AzureBlobOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _timeProvider = timeProvider;
        _client = new BlobLogClient(options);
    }

    /// <summary>Largest entry this store accepts: one line must fit in one block.</summary>
    public static int MaxEntryBytes => AzureBlobOptions.MaxBlockBytes - 1;

    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken)
    {
        var name = BlobName(tenant, key);
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Json.Length + 1 > AzureBlobOptions.MaxBlockBytes)
            {
                throw new LimitExceededException("entry_too_large", $"Entry {i} is {lines[i].Json.Length} bytes; blob storage holds entries of at most {MaxEntryBytes} bytes.", 413, MaxEntryBytes, lines[i].Json.Length);
            }
        }

        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var gate = _locks[(StringComparer.Ordinal.GetHashCode(name) & int.MaxValue) % _locks.Length];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var created = !_states.ContainsKey(name) && await _client.CreateAppendBlobAsync(name, cancellationToken).ConfigureAwait(false);
            var state = await StateOfAsync(name, cancellationToken).ConfigureAwait(false);
            var previousMtime = created ? 0 : state.Mtime;
            var remaining = lines.ToList();
            var fence = expectedLength;
            var appended = 0;
            var duplicates = 0;
            long bytes = 0;
            for (var attempt = 0; ; attempt++)
            {
                if (attempt > 100)
                {
                    throw new StorageUnavailableException($"Could not append to {name}: the log kept changing under us.");
                }

                if (fence is { } expected && expected != state.Length)
                {
                    await RefreshAsync(name, state, cancellationToken).ConfigureAwait(false);
                    if (expected != state.Length)
                    {
                        throw new ConflictException("append_position_conflict", $"Expected transcript length {expected}, but it is {state.Length}: another writer appended first.",
                            expected.ToString(CultureInfo.InvariantCulture), state.Length.ToString(CultureInfo.InvariantCulture));
                    }
                }

                var (write, skipped) = AppendPlan.Plan(remaining, state.Index, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
                if (write.Count == 0)
                {
                    duplicates += skipped;
                    break;
                }

                var (block, count) = Pack(write);
                var segment = await WritableSegmentAsync(name, state, cancellationToken).ConfigureAwait(false);
                BlobLogClient.AppendBlockResult? result;
                try
                {
                    result = await _client.AppendBlockAsync(segment.Name, block, segment.Length, cancellationToken).ConfigureAwait(false);
                }
                catch (StorageUnavailableException)
                {
                    // The outcome is unknown: forget what we knew; the caller's retry re-reads and dedupes.
                    _states.TryRemove(name, out _);
                    throw;
                }

                if (result is null && !await OurBlockLandedAsync(segment, block, cancellationToken).ConfigureAwait(false))
                {
                    // Someone else wrote: learn what, then plan the remaining entries again.
                    await RefreshAsync(name, state, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                segment.Length += block.Length;
                segment.Blocks = result?.CommittedBlocks ?? segment.Blocks + 1;
                foreach (var line in write.Take(count))
                {
                    state.Index.Add(line);
                }

                appended += count;
                duplicates += skipped;
                bytes += block.Length;
                fence = null;
                remaining = write.Skip(count).ToList();
                if (remaining.Count == 0)
                {
                    break;
                }
            }

            if (appended > 0 || created)
            {
                state.Mtime = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            }

            return new AppendResult(appended, duplicates, state.Length, state.Mtime, created, bytes, PreviousMtime: previousMtime);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    /// <remarks>Blob Last-Modified cannot be set: the time is kept in this node's memory and in the catalog row.</remarks>
    public Task SetMtimeAsync(string tenant, SessionKey key, long mtime, CancellationToken cancellationToken)
    {
        if (_states.TryGetValue(BlobName(tenant, key), out var state))
        {
            state.Mtime = mtime;
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        var name = BlobName(tenant, key);
        var segments = await ProbeSegmentsAsync(name, cancellationToken).ConfigureAwait(false);
        if (segments.Count == 0)
        {
            return null;
        }

        // The node that appended knows the write time from the injected clock, in milliseconds; otherwise the blob's
        // Last-Modified (one-second resolution, the storage's clock) is the best there is. The catalog keeps the
        // appending node's time, so listings never depend on this fallback.
        var mtime = _states.TryGetValue(name, out var state) && state.Length == segments.Sum(s => s.Length)
            ? state.Mtime
            : segments[^1].LastModified.ToUnixTimeMilliseconds();
        return new TranscriptStat(key, segments.Sum(s => s.Length), mtime);
    }

    /// <inheritdoc />
    public async Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken)
    {
        var name = BlobName(tenant, key);
        var segments = await ProbeSegmentsAsync(name, cancellationToken).ConfigureAwait(false);
        if (segments.Count == 0)
        {
            return null;
        }

        var total = segments.Sum(s => s.Length);
        var start = Math.Clamp(offset, 0, total);
        var end = count is { } c ? Math.Min(total, start + c) : total;
        var ranges = new List<(string Name, long Offset, long Count)>();
        long at = 0;
        foreach (var s in segments)
        {
            var from = Math.Max(start, at);
            var to = Math.Min(end, at + s.Length);
            if (to > from)
            {
                ranges.Add((s.Name, from - at, to - from));
            }

            at += s.Length;
        }

        return new SegmentedStream(ranges, (r, ct) => _client.OpenRangeAsync(r.Name, r.Offset, r.Count, ct));
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        var name = BlobName(tenant, key);
        var removed = false;
        var names = new List<string>();
        await foreach (var item in _client.ListAsync(name, null, cancellationToken).ConfigureAwait(false))
        {
            if (item.Name == name || IsSegmentOf(item.Name, name))
            {
                names.Add(item.Name);
            }
        }

        if (key.IsMain)
        {
            var folder = $"{tenant}/{key.ProjectKey}/{key.SessionId}/";
            await foreach (var item in _client.ListAsync(folder, null, cancellationToken).ConfigureAwait(false))
            {
                names.Add(item.Name);
            }
        }

        foreach (var n in names)
        {
            removed |= await _client.DeleteAsync(n, cancellationToken).ConfigureAwait(false);
            _states.TryRemove(n, out _);
        }

        _states.TryRemove(name, out _);
        return removed;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Every append changes the last segment's ETag, so deleting it with <c>If-Match</c> on the ETag read together
    /// with the length is atomic with respect to appends from any node.
    /// </remarks>
    public async Task<ConditionalDelete> DeleteIfUnchangedAsync(string tenant, SessionKey key, long expectedLength, CancellationToken cancellationToken)
    {
        var name = BlobName(tenant, key.Main);
        var segments = new List<(string Name, BlobLogClient.BlobProperties Props)>();
        for (var i = 0; ; i++)
        {
            var props = await _client.GetPropertiesAsync(SegmentName(name, i), cancellationToken).ConfigureAwait(false);
            if (props is null)
            {
                break;
            }

            segments.Add((SegmentName(name, i), props));
        }

        if (segments.Count == 0)
        {
            return ConditionalDelete.Missing;
        }

        if (segments.Sum(s => s.Props.Length) != expectedLength)
        {
            return ConditionalDelete.Changed;
        }

        var last = segments[^1];
        var deleted = await _client.DeleteIfMatchAsync(last.Name, last.Props.ETag, cancellationToken).ConfigureAwait(false);
        if (deleted is null)
        {
            return ConditionalDelete.Changed;
        }

        _states.TryRemove(name, out _);
        await DeleteAsync(tenant, key.Main, cancellationToken).ConfigureAwait(false);
        return ConditionalDelete.Deleted;
    }

    /// <inheritdoc />
    public async Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var names = new List<string>();
        await foreach (var item in _client.ListAsync(tenant + "/", null, cancellationToken).ConfigureAwait(false))
        {
            names.Add(item.Name);
        }

        var deleted = 0;
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (name, ct) =>
        {
            if (await _client.DeleteAsync(name, ct).ConfigureAwait(false))
            {
                Interlocked.Increment(ref deleted);
            }

            _states.TryRemove(name, out _);
        }).ConfigureAwait(false);
        return deleted;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        KeyRules.Validate(new SessionKey(projectKey, sessionId));
        var folder = $"{tenant}/{projectKey}/{sessionId}/";
        var result = new List<string>();
        await foreach (var item in _client.ListAsync(folder, null, cancellationToken).ConfigureAwait(false))
        {
            if (item.Name.EndsWith(Extension, StringComparison.Ordinal))
            {
                result.Add(item.Name[folder.Length..^Extension.Length]);
            }
        }

        result.Sort(StringComparer.Ordinal);
        return result;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TranscriptStat> ListMainTranscriptsAsync(string tenant, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var prefix = tenant + "/";
        await foreach (var item in _client.ListAsync(prefix, null, cancellationToken).ConfigureAwait(false))
        {
            var parts = item.Name[prefix.Length..].Split('/');
            if (parts.Length == 2 && parts[1].EndsWith(Extension, StringComparison.Ordinal))
            {
                var key = new SessionKey(parts[0], parts[1][..^Extension.Length]);
                if (await StatAsync(tenant, key, cancellationToken).ConfigureAwait(false) is { } stat)
                {
                    yield return stat;
                }
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListTenantsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var item in _client.ListAsync("", "/", cancellationToken).ConfigureAwait(false))
        {
            if (item.IsPrefix)
            {
                yield return item.Name.TrimEnd('/');
            }
        }
    }

    /// <summary>The blob name of a log (its first segment).</summary>
    public static string BlobName(string tenant, SessionKey key)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.Validate(key);
        return key.Subpath is null
            ? $"{tenant}/{key.ProjectKey}/{key.SessionId}{Extension}"
            : $"{tenant}/{key.ProjectKey}/{key.SessionId}/{key.Subpath}{Extension}";
    }

    private static string SegmentName(string name, int index) => index == 0 ? name : $"{name}.{index.ToString(CultureInfo.InvariantCulture)}";

    private static bool IsSegmentOf(string candidate, string name) =>
        candidate.Length > name.Length + 1 && candidate.StartsWith(name + ".", StringComparison.Ordinal) && candidate[(name.Length + 1)..].All(char.IsAsciiDigit);

    // Packs whole lines into one block of at most 4 MiB; returns the block and how many lines it holds.
    private static (byte[] Block, int Count) Pack(List<TranscriptLine> write)
    {
        var buffer = new MemoryStream();
        var count = 0;
        foreach (var line in write)
        {
            if (count > 0 && buffer.Length + line.Json.Length + 1 > AzureBlobOptions.MaxBlockBytes)
            {
                break;
            }

            buffer.Write(line.Json.Span);
            buffer.WriteByte((byte)'\n');
            count++;
        }

        return (buffer.ToArray(), count);
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerReady)
        {
            return;
        }

        await _containerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_containerReady)
            {
                await _client.CreateContainerAsync(cancellationToken).ConfigureAwait(false);
                _containerReady = true;
            }
        }
        finally
        {
            _containerGate.Release();
        }
    }

    private async Task<Segment> WritableSegmentAsync(string name, LogState state, CancellationToken cancellationToken)
    {
        if (state.Segments.Count == 0)
        {
            // Deleted by another node since we cached it: start the log again.
            await _client.CreateAppendBlobAsync(name, cancellationToken).ConfigureAwait(false);
            await RefreshAsync(name, state, cancellationToken).ConfigureAwait(false);
        }

        var last = state.Segments[^1];
        if (last.Blocks < _options.MaxBlocksPerSegment)
        {
            return last;
        }

        var next = SegmentName(name, state.Segments.Count);
        await _client.CreateAppendBlobAsync(next, cancellationToken).ConfigureAwait(false);
        await RefreshAsync(name, state, cancellationToken).ConfigureAwait(false);
        return state.Segments[^1];
    }

    // After a 412: did the block we sent land at the position we sent it to (our own retried block)?
    private async Task<bool> OurBlockLandedAsync(Segment segment, byte[] block, CancellationToken cancellationToken)
    {
        var tail = await _client.ReadRangeAsync(segment.Name, segment.Length, block.Length, cancellationToken).ConfigureAwait(false);
        return tail is not null && tail.AsSpan().SequenceEqual(block);
    }

    private async Task<LogState> StateOfAsync(string name, CancellationToken cancellationToken)
    {
        if (_states.TryGetValue(name, out var cached))
        {
            return cached;
        }

        var state = new LogState();
        var lastModified = await RefreshAsync(name, state, cancellationToken).ConfigureAwait(false);
        // Last-Modified has a one-second resolution: the end of its second, so a write in that second is never taken
        // for older than it was (see AppendResult.PreviousMtime).
        state.Mtime = lastModified is { } storage ? storage.ToUnixTimeMilliseconds() + 999 : _timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        _states[name] = state;
        if (_states.Count > 4096)
        {
            foreach (var k in _states.Keys.Take(2048).Where(k => k != name).ToList())
            {
                _states.TryRemove(k, out _);
            }
        }

        return state;
    }

    // Brings a state up to date with storage: new segments, grown lengths, and the uuids written since.
    // Brings the state up to the stored segments; answers the last segment's Last-Modified (null: no segment).
    private async Task<DateTimeOffset?> RefreshAsync(string name, LogState state, CancellationToken cancellationToken)
    {
        var segments = await ProbeSegmentsAsync(name, cancellationToken, state.Segments.Count > 0 ? state.Segments.Count - 1 : 0).ConfigureAwait(false);
        for (var i = 0; i < segments.Count; i++)
        {
            var index = (state.Segments.Count > 0 ? state.Segments.Count - 1 : 0) + i;
            var known = index < state.Segments.Count ? state.Segments[index] : null;
            var from = known?.Length ?? 0;
            if (segments[i].Length > from)
            {
                await IndexRangeAsync(segments[i].Name, from, segments[i].Length, state.Index, cancellationToken).ConfigureAwait(false);
            }

            if (known is null)
            {
                state.Segments.Add(new Segment(segments[i].Name) { Length = segments[i].Length, Blocks = segments[i].Blocks });
            }
            else
            {
                known.Length = segments[i].Length;
                known.Blocks = segments[i].Blocks;
            }
        }

        return segments.Count > 0 ? segments[^1].LastModified : null;
    }

    // Indexes the entries in [from, to) of a segment, read in ranges of one block's size (a log rebuilt after a failover
    // may be many megabytes; one failed range is retried alone by the SDK instead of the whole download).
    private async Task IndexRangeAsync(string segment, long from, long to, LogIndex index, CancellationToken cancellationToken)
    {
        var pending = new MemoryStream();
        for (var at = from; at < to; at += AzureBlobOptions.MaxBlockBytes)
        {
            var bytes = await _client.ReadRangeAsync(segment, at, Math.Min(AzureBlobOptions.MaxBlockBytes, to - at), cancellationToken).ConfigureAwait(false) ?? [];
            pending.Write(bytes);
            var buffered = pending.GetBuffer().AsSpan(0, (int)pending.Length);
            var complete = buffered.LastIndexOf((byte)'\n') + 1;
            index.AddJsonl(buffered[..complete]);
            var rest = buffered[complete..].ToArray();
            pending.SetLength(0);
            pending.Write(rest);
        }

        index.AddJsonl(pending.GetBuffer().AsSpan(0, (int)pending.Length));
    }

    private async Task<List<(string Name, long Length, int Blocks, DateTimeOffset LastModified)>> ProbeSegmentsAsync(string name, CancellationToken cancellationToken, int fromIndex = 0)
    {
        var result = new List<(string, long, int, DateTimeOffset)>();
        for (var i = fromIndex; ; i++)
        {
            var props = await _client.GetPropertiesAsync(SegmentName(name, i), cancellationToken).ConfigureAwait(false);
            if (props is null)
            {
                return result;
            }

            result.Add((SegmentName(name, i), props.Length, props.CommittedBlocks, props.LastModified));
        }
    }

    private sealed class LogState
    {
        public List<Segment> Segments { get; } = [];

        public LogIndex Index { get; } = new();

        public long Length => Segments.Sum(s => s.Length);

        public long Mtime { get; set; }
    }

    private sealed class Segment(string name)
    {
        public string Name { get; } = name;

        public long Length { get; set; }

        public int Blocks { get; set; }
    }
}
