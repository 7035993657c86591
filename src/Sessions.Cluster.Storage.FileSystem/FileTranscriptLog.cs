using System.Globalization;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>
/// One transcript file, as its writer (the session's grain) holds it: the committed length (the offset after the last
/// newline), the file's mtime and its uuid set, learnt from the file on first use and extended by each append.
/// </summary>
/// <remarks>
/// The fence is the file's length: an append that finds the file longer than it holds takes the whole lines another
/// writer added into its set first (and drops bytes after the last newline: a partial line left by a crash, which no
/// reader ever saw), one that finds it shorter or gone learns the file again. Appends are durable in the silo's
/// <see cref="TranscriptJournal"/> before they are acknowledged (unless <see cref="FileSystemTranscriptStoreOptions.FlushToDisk"/>
/// is off: no journal), the file itself written without a sync, and stamp the mtime from the injected clock, so the
/// store's mtime and the catalog's share one clock. Deletions and new mtimes go through the journal too, so a replay
/// never brings back what was deleted.
/// </remarks>
internal sealed class FileTranscriptLog(string path, string sessionFolder, SessionKey key, TranscriptJournal? journal, TimeProvider timeProvider) : ITranscriptLog
{
    private State? _state;

    /// <inheritdoc />
    public SessionKey Key => key;

    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken)
    {
        try
        {
            var created = !File.Exists(path);
            if (created)
            {
                if (expectedLength is > 0)
                {
                    throw Conflict(expectedLength.Value, 0);
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                _state = null;
            }

            using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.None);
            var state = _state is { } known && known.Committed == file.Length ? known : await LearnAsync(file, cancellationToken).ConfigureAwait(false);
            if (expectedLength is { } expected && expected != state.Committed)
            {
                throw Conflict(expected, state.Committed);
            }

            var now = timeProvider.GetUtcNow();
            var (write, duplicates) = AppendPlan.Plan(lines, state.Index, now.ToUnixTimeMilliseconds());
            var previousMtime = created ? 0 : state.Mtime;
            long bytes = 0;
            if (write.Count > 0 || created)
            {
                var buffer = new MemoryStream(write.Sum(l => l.Json.Length + 1));
                foreach (var line in write)
                {
                    buffer.Write(line.Json.Span);
                    buffer.WriteByte((byte)'\n');
                }

                if (file.Length != state.Committed)
                {
                    file.SetLength(state.Committed);
                }

                file.Position = state.Committed;
                var written = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
                // Synchronous on purpose: a write into the page cache takes microseconds, and an asynchronous one of a
                // file on Unix is the same write handed to another thread-pool thread (a context switch per append).
                file.Write(written.Span);
                File.SetLastWriteTimeUtc(file.SafeFileHandle, now.UtcDateTime);
                if (journal is not null)
                {
                    try
                    {
                        await journal.AppendAsync(path, state.Committed, now.ToUnixTimeMilliseconds(), written).ConfigureAwait(false);
                    }
                    catch (IOException)
                    {
                        // Not durable, so not acknowledged: the bytes go again, so no later record ever stands after
                        // bytes the journal does not hold (the state is learnt again below).
                        file.SetLength(state.Committed);
                        throw;
                    }
                }

                bytes = buffer.Length;
                state.Committed += bytes;
                foreach (var line in write)
                {
                    state.Index.Add(line);
                }

                state.Mtime = now.ToUnixTimeMilliseconds();
            }

            return new AppendResult(write.Count, duplicates, state.Committed, state.Mtime, created, bytes, PreviousMtime: previousMtime);
        }
        catch (IOException ex)
        {
            // What reached the file is unknown: learn it again on the next call.
            _state = null;
            throw new StorageUnavailableException($"Could not write transcript {key}: {ex.Message}", ex);
        }
    }

    /// <inheritdoc />
    public async Task SetMtimeAsync(long mtime, CancellationToken cancellationToken)
    {
        if (File.Exists(path))
        {
            File.SetLastWriteTimeUtc(path, DateTimeOffset.FromUnixTimeMilliseconds(mtime).UtcDateTime);
            if (journal is not null)
            {
                await journal.MtimeAsync(path, mtime).ConfigureAwait(false);
            }

            _state?.Mtime = mtime;
        }
    }

    /// <inheritdoc />
    public async Task<TranscriptStat?> StatAsync(CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        // Read once: an append may replace the state while this runs.
        if (_state is { } state && state.Committed == info.Length)
        {
            return new TranscriptStat(key, state.Committed, state.Mtime);
        }

        var committed = await CommittedLengthAsync(info.Length, cancellationToken).ConfigureAwait(false);
        return new TranscriptStat(key, committed, new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeMilliseconds());
    }

    /// <inheritdoc />
    public async Task<Stream?> OpenReadAsync(long offset, long? count, CancellationToken cancellationToken)
    {
        var stat = await StatAsync(cancellationToken).ConfigureAwait(false);
        if (stat is null)
        {
            return null;
        }

        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var start = Math.Clamp(offset, 0, stat.Length);
        var end = count is { } c ? Math.Min(stat.Length, start + c) : stat.Length;
        file.Position = start;
        return new BoundedReadStream(file, end - start);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(CancellationToken cancellationToken)
    {
        _state = null;
        var existed = File.Exists(path);
        if (existed)
        {
            // The deletion is durable before the file goes, so a replay of earlier appends never brings it back.
            if (journal is not null)
            {
                await journal.DeleteAsync(path, tree: false).ConfigureAwait(false);
            }

            File.Delete(path);
        }

        if (key.IsMain)
        {
            if (Directory.Exists(sessionFolder))
            {
                if (journal is not null)
                {
                    await journal.DeleteAsync(sessionFolder, tree: true).ConfigureAwait(false);
                }

                Directory.Delete(sessionFolder, recursive: true);
                existed = true;
            }
        }
        else
        {
            PruneEmptyFolders(Path.GetDirectoryName(path)!, sessionFolder);
        }

        return existed;
    }

    /// <inheritdoc />
    public async Task<ConditionalDelete> DeleteIfUnchangedAsync(long expectedLength, CancellationToken cancellationToken)
    {
        if (!key.IsMain)
        {
            throw new InvalidOperationException("Only a main transcript's log deletes its session.");
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return ConditionalDelete.Missing;
        }

        var committed = _state is { } state && state.Committed == info.Length ? state.Committed : await CommittedLengthAsync(info.Length, cancellationToken).ConfigureAwait(false);
        if (committed != expectedLength)
        {
            return ConditionalDelete.Changed;
        }

        // The file's only writer is the caller (the session's grain), which makes no append while this runs.
        await DeleteAsync(cancellationToken).ConfigureAwait(false);
        return ConditionalDelete.Deleted;
    }

    // Reads the whole file: its committed length (a partial last line, left by a crash, is not committed), mtime and uuids.
    private async Task<State> LearnAsync(FileStream file, CancellationToken cancellationToken)
    {
        var state = new State { Mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeMilliseconds() };
        file.Position = 0;
        var length = (int)file.Length;
        var buffer = new byte[Math.Max(1, length)];
        var read = await file.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var data = buffer.AsSpan(0, read);
        state.Committed = data.LastIndexOf((byte)'\n') + 1;
        state.Index.AddJsonl(data[..(int)state.Committed]);
        _state = state;
        return state;
    }

    // The offset after the last newline, read backwards from the end of a file of `length` bytes.
    private async Task<long> CommittedLengthAsync(long length, CancellationToken cancellationToken)
    {
        if (length == 0)
        {
            return 0;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        var chunk = new byte[Math.Min(65536, length)];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - chunk.Length);
            file.Position = start;
            var n = await file.ReadAtLeastAsync(chunk.AsMemory(0, (int)(end - start)), (int)(end - start), throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            var at = chunk.AsSpan(0, n).LastIndexOf((byte)'\n');
            if (at >= 0)
            {
                return start + at + 1;
            }

            end = start;
        }

        return 0;
    }

    private static void PruneEmptyFolders(string dir, string stopAt)
    {
        while (dir.Length >= stopAt.Length && Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
        {
            Directory.Delete(dir);
            if (dir == stopAt)
            {
                break;
            }

            dir = Path.GetDirectoryName(dir)!;
        }
    }

    private static ConflictException Conflict(long expected, long actual) =>
        new("append_position_conflict", $"Expected transcript length {expected}, but it is {actual}: another writer appended first.",
            expected.ToString(CultureInfo.InvariantCulture), actual.ToString(CultureInfo.InvariantCulture));

    private sealed class State
    {
        public long Committed { get; set; }

        public long Mtime { get; set; }

        public LogIndex Index { get; } = new();
    }
}
