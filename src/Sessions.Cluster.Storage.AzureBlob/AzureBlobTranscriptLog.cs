using System.Globalization;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Storage.AzureBlob;

/// <summary>
/// One transcript as append blobs (segment <c>&lt;name&gt;</c>, then <c>&lt;name&gt;.1</c>, …), as its writer (the
/// session's grain) holds it: the segments' lengths and block counts, the uuid set and the last write time (ms, from
/// the injected clock), learnt from storage on first use and extended by each append.
/// </summary>
/// <remarks>
/// Every Append Block carries <c>IfAppendPositionEqual</c> = the length this handle holds, so writers (the grain, and a
/// brief duplicate activation during a membership change) never interleave: a 412 means another writer wrote or an
/// earlier attempt of ours landed. The handle then re-reads the tail: if it holds exactly our block, the block is done;
/// otherwise it learns the uuids written since and plans the remaining entries again (<see cref="AppendPlan"/>). A log
/// found shorter or gone (deleted by an erasure on another node) is learnt again from nothing.
/// </remarks>
internal sealed class AzureBlobTranscriptLog(AzureBlobTranscriptStore store, BlobLogClient client, string name, SessionKey key, AzureBlobOptions options, TimeProvider timeProvider) : ITranscriptLog
{
    private State? _state;

    /// <inheritdoc />
    public SessionKey Key => key;

    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken) =>
        await AppendCoreAsync(lines, expectedLength, null, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public bool WritesBatchesTogether => true;

    /// <inheritdoc />
    /// <remarks>
    /// The batches' entries go out as one Append Block (more only past 4 MiB), fenced like any append; each batch's
    /// answer is then told apart by which of its entries were written.
    /// </remarks>
    public async Task<IReadOnlyList<AppendResult>> AppendBatchesAsync(IReadOnlyList<IReadOnlyList<TranscriptLine>> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (batches.Any(b => b.Count == 0 || b.Any(l => l.Uuid is null)))
        {
            throw new ArgumentException("Batches written together are not empty, and each of their entries carries a uuid.", nameof(batches));
        }

        var written = new HashSet<TranscriptLine>(ReferenceEqualityComparer.Instance);
        var all = await AppendCoreAsync([.. batches.SelectMany(b => b)], null, written, cancellationToken).ConfigureAwait(false);
        var each = new AppendResult[batches.Count];
        var after = all.Length; // the length after batch k: the end, less what the batches after it wrote
        for (var k = batches.Count - 1; k >= 0; k--)
        {
            var appended = batches[k].Where(written.Contains).ToList();
            var bytes = appended.Sum(l => (long)l.Json.Length + 1);
            each[k] = new AppendResult(appended.Count, batches[k].Count - appended.Count, after, all.Mtime, k == 0 && all.Created, bytes,
                PreviousMtime: k == 0 ? all.PreviousMtime : all.Mtime);
            after -= bytes;
        }

        return each;
    }

    // An append of the lines; each line written is added to `written` when given.
    private async Task<AppendResult> AppendCoreAsync(IReadOnlyList<TranscriptLine> lines, long? expectedLength, HashSet<TranscriptLine>? written, CancellationToken cancellationToken)
    {
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Json.Length + 1 > AzureBlobOptions.MaxBlockBytes)
            {
                throw new LimitExceededException("entry_too_large", $"Entry {i} is {lines[i].Json.Length} bytes; blob storage holds entries of at most {AzureBlobOptions.MaxEntryBytes} bytes.", 413, AzureBlobOptions.MaxEntryBytes, lines[i].Json.Length);
            }
        }

        await store.EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var created = _state is null && await client.CreateAppendBlobAsync(name, cancellationToken).ConfigureAwait(false);
        var state = _state ?? (created ? Started() : await LearnAsync(cancellationToken).ConfigureAwait(false));
        var checkedReplay = created;
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
                await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
                if (expected != state.Length)
                {
                    throw new ConflictException("append_position_conflict", $"Expected transcript length {expected}, but it is {state.Length}: another writer appended first.",
                        expected.ToString(CultureInfo.InvariantCulture), state.Length.ToString(CultureInfo.InvariantCulture));
                }
            }

            var (write, skipped) = AppendPlan.Plan(remaining, state.Index, timeProvider.GetUtcNow().ToUnixTimeMilliseconds());
            if (write.Count == 0)
            {
                if (!checkedReplay && skipped > 0)
                {
                    // A replayed batch writes nothing: first make sure the log still holds what this handle knows
                    // (one read, only for replays; a log deleted since is learnt from nothing).
                    checkedReplay = true;
                    await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                duplicates += skipped;
                break;
            }

            var (block, count) = Pack(write);
            var (segment, started) = await WritableSegmentAsync(state, cancellationToken).ConfigureAwait(false);
            created |= started;
            BlobLogClient.AppendBlockResult? result;
            try
            {
                result = await client.AppendBlockAsync(segment.Name, block, segment.Length, cancellationToken).ConfigureAwait(false);
            }
            catch (StorageUnavailableException)
            {
                // The outcome is unknown: forget what we knew; the caller's retry learns the log again and dedupes.
                _state = null;
                throw;
            }

            if (result is null && !await OurBlockLandedAsync(segment, block, cancellationToken).ConfigureAwait(false))
            {
                // Someone else wrote (or deleted the log): learn what, then plan the remaining entries again.
                await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
                continue;
            }

            segment.Length += block.Length;
            segment.Blocks = result?.CommittedBlocks ?? segment.Blocks + 1;
            foreach (var line in write.Take(count))
            {
                state.Index.Add(line);
                written?.Add(line);
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
            state.Mtime = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        }

        return new AppendResult(appended, duplicates, state.Length, state.Mtime, created, bytes, PreviousMtime: previousMtime);
    }

    /// <inheritdoc />
    /// <remarks>Blob Last-Modified cannot be set: the time is kept by this handle and in the catalog row.</remarks>
    public Task SetMtimeAsync(long mtime, CancellationToken cancellationToken)
    {
        _state?.Mtime = mtime;
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A handle that has learnt the log answers from what it holds, with no storage call: its holder is the log's single
    /// writer, so nothing else changes it. A duplicate activation's write (during a membership change) is not seen
    /// here until this handle's next append, whose append-position fence finds it; until then a read sees the length
    /// before it, a committed prefix. A handle that has not learnt the log asks storage.
    /// </remarks>
    public async Task<TranscriptStat?> StatAsync(CancellationToken cancellationToken)
    {
        if (_state is { Segments.Count: > 0 } known)
        {
            return new TranscriptStat(key, known.Length, known.Mtime);
        }

        var segments = await store.ProbeSegmentsAsync(name, cancellationToken).ConfigureAwait(false);
        if (segments.Count == 0)
        {
            return null;
        }

        // The writer's handle knows the write time from the injected clock, in milliseconds; otherwise the blob's
        // Last-Modified (one-second resolution, the storage's clock) is the best there is. The catalog keeps the
        // appending node's time, so listings never depend on this fallback.
        var length = segments.Sum(s => s.Length);
        var mtime = _state is { } state && state.Length == length ? state.Mtime : segments[^1].LastModified.ToUnixTimeMilliseconds();
        return new TranscriptStat(key, length, mtime);
    }

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(long offset, long? count, CancellationToken cancellationToken) => store.OpenLogAsync(name, offset, count, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteAsync(CancellationToken cancellationToken)
    {
        _state = null;
        return store.DeleteLogAsync(name, key, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Every append changes the last segment's ETag, so deleting it with <c>If-Match</c> on the ETag read together
    /// with the length is atomic with respect to appends from any node.
    /// </remarks>
    public async Task<ConditionalDelete> DeleteIfUnchangedAsync(long expectedLength, CancellationToken cancellationToken)
    {
        if (!key.IsMain)
        {
            throw new InvalidOperationException("Only a main transcript's log deletes its session.");
        }

        var segments = new List<(string Name, BlobLogClient.BlobProperties Props)>();
        for (var i = 0; ; i++)
        {
            var props = await client.GetPropertiesAsync(AzureBlobTranscriptStore.SegmentName(name, i), cancellationToken).ConfigureAwait(false);
            if (props is null)
            {
                break;
            }

            segments.Add((AzureBlobTranscriptStore.SegmentName(name, i), props));
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
        if (await client.DeleteIfMatchAsync(last.Name, last.Props.ETag, cancellationToken).ConfigureAwait(false) is null)
        {
            return ConditionalDelete.Changed;
        }

        await DeleteAsync(cancellationToken).ConfigureAwait(false);
        return ConditionalDelete.Deleted;
    }

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

    // The segment to append to, and whether the log had to be started again (deleted since this handle learnt it).
    private async Task<(Segment Segment, bool Started)> WritableSegmentAsync(State state, CancellationToken cancellationToken)
    {
        var started = false;
        if (state.Segments.Count == 0)
        {
            started = await client.CreateAppendBlobAsync(name, cancellationToken).ConfigureAwait(false);
            await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
        }

        var last = state.Segments[^1];
        if (last.Blocks < options.MaxBlocksPerSegment)
        {
            return (last, started);
        }

        await client.CreateAppendBlobAsync(AzureBlobTranscriptStore.SegmentName(name, state.Segments.Count), cancellationToken).ConfigureAwait(false);
        await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
        return (state.Segments[^1], started);
    }

    // After a 412: did the block we sent land at the position we sent it to (our own retried block)?
    private async Task<bool> OurBlockLandedAsync(Segment segment, byte[] block, CancellationToken cancellationToken)
    {
        var tail = await client.ReadRangeAsync(segment.Name, segment.Length, block.Length, cancellationToken).ConfigureAwait(false);
        return tail is not null && tail.AsSpan().SequenceEqual(block);
    }

    // The state of a log this handle has just created: empty, one segment. No later segment can exist without its
    // first (they are created in order and deleted last to first), so there is nothing to learn from storage (a new
    // session's append: two requests fewer). Another writer's block landing first is met by the append's fence.
    private State Started()
    {
        var state = new State { Mtime = timeProvider.GetUtcNow().ToUnixTimeMilliseconds() };
        state.Segments.Add(new Segment(name));
        _state = state;
        return state;
    }

    private async Task<State> LearnAsync(CancellationToken cancellationToken)
    {
        var state = new State();
        var lastModified = await RefreshAsync(state, cancellationToken).ConfigureAwait(false);
        // Last-Modified has a one-second resolution: the end of its second, so a write in that second is never taken
        // for older than it was (see AppendResult.PreviousMtime).
        state.Mtime = lastModified is { } storage ? storage.ToUnixTimeMilliseconds() + 999 : timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        _state = state;
        return state;
    }

    // Brings the state up to the stored segments: new segments, grown lengths, and the uuids written since; a log
    // found shorter than known (deleted, and maybe written again) is learnt from nothing. Answers the last segment's
    // Last-Modified (null: no segment).
    private async Task<DateTimeOffset?> RefreshAsync(State state, CancellationToken cancellationToken)
    {
        var first = state.Segments.Count > 0 ? state.Segments.Count - 1 : 0;
        var segments = await store.ProbeSegmentsAsync(name, cancellationToken, first).ConfigureAwait(false);
        if (state.Segments.Count > 0 && (segments.Count == 0 || segments[0].Length < state.Segments[^1].Length))
        {
            state.Reset();
            first = 0;
            segments = await store.ProbeSegmentsAsync(name, cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < segments.Count; i++)
        {
            var index = first + i;
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

    // Indexes the entries in [from, to) of a segment, read in ranges of one block's size (a log learnt after a failover
    // may be many megabytes).
    private async Task IndexRangeAsync(string segment, long from, long to, LogIndex index, CancellationToken cancellationToken)
    {
        var pending = new MemoryStream();
        for (var at = from; at < to; at += AzureBlobOptions.MaxBlockBytes)
        {
            var bytes = await client.ReadRangeAsync(segment, at, Math.Min(AzureBlobOptions.MaxBlockBytes, to - at), cancellationToken).ConfigureAwait(false) ?? [];
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

    private sealed class State
    {
        public List<Segment> Segments { get; } = [];

        public LogIndex Index { get; private set; } = new();

        public long Length => Segments.Sum(s => s.Length);

        public long Mtime { get; set; }

        public void Reset()
        {
            Segments.Clear();
            Index = new LogIndex();
        }
    }

    private sealed class Segment(string name)
    {
        public string Name { get; } = name;

        public long Length { get; set; }

        public int Blocks { get; set; }
    }
}
