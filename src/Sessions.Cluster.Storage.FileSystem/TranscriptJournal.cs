using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>
/// The embedded silo's write-ahead journal (DESIGN.md §5): every acknowledged change of a transcript file — appended
/// bytes, a new mtime, a deletion — is first a record in one preallocated file that is <c>fdatasync</c>ed with group
/// commit (records queued while a sync is in flight share the next one), so a session's append costs a share of one
/// sync of a file that never grows instead of an <c>fsync</c> of its own growing file. The transcript files themselves
/// are written without a sync; a checkpoint (when the journal fills, and on dispose) syncs the files written since the
/// last one and starts the journal over under a new generation. Opening the journal replays the records of its current
/// generation onto the files, in order, so after a crash every acknowledged append is in its file exactly once (a
/// record says the file's first <c>offset</c> bytes are followed by its bytes and nothing else, so replaying one twice
/// changes nothing, and lines written but never acknowledged are cut off) and a deleted file stays deleted. Records carry
/// a CRC-32 and their generation: a torn tail (a record cut short, or its bytes mixed with an older one's) ends the
/// replay and is never applied.
/// </summary>
/// <remarks>
/// Chosen over Microsoft.FASTER.Core's FasterLog after measuring both (docs/BENCHMARKS.md, issue 25, stop 34: 0.21× and
/// ~0.4× of this journal's durable commits per second for 1 and 16 writers). Layout: a 4 KiB header (magic, version,
/// generation, CRC) then records, each <c>magic u32 | payload length u32 | generation u64 | crc32 u32 | payload</c>; the
/// payload is <c>kind u8 | path length u16 | path (UTF-8, relative to the store's root) | offset i64 | mtime i64 | bytes</c>.
/// </remarks>
internal sealed partial class TranscriptJournal : IDisposable
{
    /// <summary>Default size of the journal file (64 MiB), allocated once.</summary>
    public const long DefaultCapacity = 64L * 1024 * 1024;

    private const int HeaderBytes = 4096;
    private const uint HeaderMagic = 0x48434A53; // "SJCH"
    private const uint RecordMagic = 0x524A4353; // "SCJR"
    private const int RecordHeaderBytes = 20;
    private const int MinPayload = 1 + 2 + 8 + 8;
    private const int Version = 1;
    private const int ZeroChunkBytes = 1024 * 1024;
    private static readonly byte[] Zeros = new byte[ZeroChunkBytes];

    private readonly string _root;
    private readonly long _capacity;
    private readonly SafeFileHandleOwner _file;
    private readonly object _gate = new();
    private readonly MemoryStream _buffer = new();
    private readonly HashSet<string> _dirtyFiles = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirtyFolders = new(StringComparer.Ordinal);
    private List<Pending> _queued = [];
    private bool _writing;
    private bool _closed;
    private long _generation;
    private long _position = HeaderBytes;
    private long _zeroedTo = HeaderBytes; // this process's zeros (or records) reach here; re-zeroed after a restart

    private TranscriptJournal(string root, Microsoft.Win32.SafeHandles.SafeFileHandle file, long capacity, long generation, ReplayOutcome replayed)
    {
        _root = root;
        _capacity = capacity;
        _generation = generation;
        Replayed = replayed;
        _file = new SafeFileHandleOwner(file);
    }

    /// <summary>What opening the journal replayed.</summary>
    public ReplayOutcome Replayed { get; }

    /// <summary>What a replay found and applied.</summary>
    /// <param name="Records">Records applied to the files.</param>
    /// <param name="TornTail">True when the replay stopped at a record cut short or not matching its checksum.</param>
    public sealed record ReplayOutcome(int Records, bool TornTail);

    /// <summary>
    /// Opens the journal at <paramref name="path"/> for the transcripts under <paramref name="root"/>: replays what it
    /// holds onto the files, syncs them, and starts a new generation. The file is held exclusively until disposed.
    /// </summary>
    /// <exception cref="IOException">The journal is held by another store (another process on the same folder).</exception>
    public static TranscriptJournal Open(string root, string path, long capacity = DefaultCapacity)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The transcript journal {path} is held by another store: is another Sessions.Cluster server running on the same data folder? ({ex.Message})", ex);
        }

        try
        {
            var (generation, replayed) = Replay(root, handle);
            Allocate(handle, capacity);
            WriteHeader(handle, generation + 1);
            return new TranscriptJournal(root, handle, capacity, generation + 1, replayed);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Records that <paramref name="bytes"/> follow the first <paramref name="offset"/> bytes of the file (already written there); completes when durable.</summary>
    public Task AppendAsync(string path, long offset, long mtime, ReadOnlyMemory<byte> bytes) => Enqueue(Kind.Append, path, offset, mtime, bytes);

    /// <summary>Records a file's new mtime (Unix epoch ms); completes when durable.</summary>
    public Task MtimeAsync(string path, long mtime) => Enqueue(Kind.Mtime, path, 0, mtime, default);

    /// <summary>Records that a file (or, with <paramref name="tree"/>, a folder and all it holds) is to be deleted; completes when durable, before the caller deletes it.</summary>
    public Task DeleteAsync(string path, bool tree) => Enqueue(tree ? Kind.DeleteTree : Kind.Delete, path, 0, 0, default);

    /// <summary>Stops the writer, then syncs the files written since the last checkpoint and starts a new generation (a clean shutdown replays nothing).</summary>
    public void Dispose()
    {
        try
        {
            lock (_gate)
            {
                // New records are refused from here; what is queued is still written by the writer under way.
                _closed = true;
                while (_writing)
                {
                    Monitor.Wait(_gate);
                }
            }

            Checkpoint();
        }
        finally
        {
            _file.Dispose();
        }
    }

    /// <summary>Closes the journal as a crash leaves it: no checkpoint, what is queued never written (tests of replay).</summary>
    internal void Abandon()
    {
        List<Pending> dropped;
        lock (_gate)
        {
            _closed = true;
            (dropped, _queued) = (_queued, []);
        }

        dropped.ForEach(p => p.Durable.TrySetException(new IOException("The transcript journal was abandoned.")));
        _file.Dispose();
    }

    // Group commit with the first caller as the writer: a record that finds no write under way is written and synced
    // on its caller's thread, with any queued beside it (no hand-off to another thread and back: two context switches
    // of an uncontended append); records that arrive while a sync runs wait for the next one, which a pool thread runs
    // so that the caller who led is answered as soon as its own sync is done.
    private Task Enqueue(Kind kind, string path, long offset, long mtime, ReadOnlyMemory<byte> bytes)
    {
        var pending = new Pending(kind, Path.GetRelativePath(_root, path), offset, mtime, bytes, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_gate)
        {
            if (_closed)
            {
                // Closed (the server is stopping): an I/O failure the caller answers as storage unavailable, never acknowledged.
                return Task.FromException(new IOException("The transcript journal is closed: the server is stopping."));
            }

            _queued.Add(pending);
            if (_writing)
            {
                return pending.Durable.Task;
            }

            _writing = true;
        }

        WriteBatch(TakeBatch());
        if (!StopWritingIfIdle())
        {
            ThreadPool.UnsafeQueueUserWorkItem(static journal => journal.Drain(), this, preferLocal: false);
        }

        return pending.Durable.Task;
    }

    // The writer after a leading caller: batches until the queue is empty.
    private void Drain()
    {
        do
        {
            WriteBatch(TakeBatch());
        }
        while (!StopWritingIfIdle());
    }

    // Up to 8 MiB of the queued records, in order.
    private List<Pending> TakeBatch()
    {
        lock (_gate)
        {
            long bytes = 0;
            var count = 0;
            while (count < _queued.Count && (count == 0 || bytes < 8 * 1024 * 1024))
            {
                bytes += _queued[count++].Bytes.Length;
            }

            var batch = _queued.GetRange(0, count);
            _queued.RemoveRange(0, count);
            return batch;
        }
    }

    // Ends the writer's turn when nothing is queued (true); otherwise it goes on.
    private bool StopWritingIfIdle()
    {
        lock (_gate)
        {
            if (_queued.Count > 0)
            {
                return false;
            }

            _writing = false;
            Monitor.PulseAll(_gate);
            return true;
        }
    }

    // Writes a batch's records and syncs them once; completes each record's caller. Never throws: a failure fails this
    // batch, as an I/O failure its callers answer as storage unavailable, and the next one tries again (a writer that
    // stopped would leave every later append waiting forever).
    private void WriteBatch(List<Pending> batch)
    {
        try
        {
            _buffer.SetLength(0);
            foreach (var pending in batch)
            {
                var payload = Payload(pending);
                if (RecordHeaderBytes + payload.Length > _capacity - HeaderBytes)
                {
                    // Bigger than the whole journal: the file itself (and its folder's entry) is synced instead.
                    SyncFile(Path.Combine(_root, pending.Path));
                    SyncFolder(Path.GetDirectoryName(Path.Combine(_root, pending.Path))!);
                    continue;
                }

                if (_position + _buffer.Length + RecordHeaderBytes + payload.Length > _capacity)
                {
                    Flush(_buffer);
                    Checkpoint();
                }

                WriteRecord(_buffer, payload);
                Note(pending);
            }

            Flush(_buffer);
            foreach (var pending in batch)
            {
                pending.Durable.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            var failure = ex as IOException ?? new IOException($"The transcript journal could not be written: {ex.Message}", ex);
            foreach (var pending in batch)
            {
                pending.Durable.TrySetException(failure);
            }
        }
    }

    private void Flush(MemoryStream buffer)
    {
        if (buffer.Length == 0)
        {
            return;
        }

        if (_position + buffer.Length > _zeroedTo)
        {
            // The allocated blocks ahead are written with zeros a chunk at a time (in the same sync as the records): a
            // block allocated but never written makes every sync that first writes it update the file's metadata too (an
            // extent conversion: a second device write per sync, a journal commit on ext4 with a journal).
            var from = Math.Max(_zeroedTo, _position);
            var to = Math.Min(_capacity, Math.Max(from, _position + buffer.Length) + ZeroChunkBytes);
            for (var at = from; at < to; at += ZeroChunkBytes)
            {
                RandomAccess.Write(_file.Handle, Zeros.AsSpan(0, (int)Math.Min(ZeroChunkBytes, to - at)), at);
            }

            _zeroedTo = to;
        }

        RandomAccess.Write(_file.Handle, buffer.GetBuffer().AsSpan(0, (int)buffer.Length), _position);
        DataSync(_file.Handle);
        _position += buffer.Length;
        buffer.SetLength(0);
    }

    // Syncs every file and folder changed since the last checkpoint, then starts a new generation at the journal's start.
    private void Checkpoint()
    {
        foreach (var file in _dirtyFiles)
        {
            SyncFile(Path.Combine(_root, file));
        }

        foreach (var folder in _dirtyFolders)
        {
            SyncFolder(Path.Combine(_root, folder));
        }

        // Only once the new header is durable does the journal start over (a failure changes nothing).
        WriteHeader(_file.Handle, _generation + 1);
        _generation++;
        _position = HeaderBytes;
        _dirtyFiles.Clear();
        _dirtyFolders.Clear();
    }

    private void Note(Pending pending)
    {
        if (pending.Kind is Kind.Append or Kind.Mtime)
        {
            _dirtyFiles.Add(pending.Path);
        }

        if (pending.Kind != Kind.Mtime && Path.GetDirectoryName(pending.Path) is { } folder)
        {
            _dirtyFolders.Add(folder);
        }
    }

    private void WriteRecord(MemoryStream buffer, byte[] payload)
    {
        Span<byte> header = stackalloc byte[RecordHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, RecordMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], _generation);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], Checksum(_generation, payload));
        buffer.Write(header);
        buffer.Write(payload);
    }

    private static byte[] Payload(Pending pending)
    {
        var path = Encoding.UTF8.GetBytes(pending.Path);
        var payload = new byte[1 + 2 + path.Length + 16 + pending.Bytes.Length];
        payload[0] = (byte)pending.Kind;
        BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(1), checked((ushort)path.Length));
        path.CopyTo(payload.AsSpan(3));
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(3 + path.Length), pending.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(11 + path.Length), pending.Mtime);
        pending.Bytes.Span.CopyTo(payload.AsSpan(19 + path.Length));
        return payload;
    }

    private static uint Checksum(long generation, ReadOnlySpan<byte> payload)
    {
        var crc = new Crc32();
        Span<byte> g = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(g, generation);
        crc.Append(g);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32();
    }

    // The journal's blocks, allocated once (a file that never grows needs no metadata in its fdatasync); an existing
    // journal cut short (by a crash, or by hand) gets its length back.
    private static void Allocate(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long capacity)
    {
        if (RandomAccess.GetLength(handle) >= capacity)
        {
            return;
        }

        if (!OperatingSystem.IsLinux() || Native.FAllocate(handle, 0, capacity) != 0)
        {
            RandomAccess.SetLength(handle, capacity);
        }
    }

    private static void WriteHeader(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long generation)
    {
        var header = new byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, HeaderMagic);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), Version);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(8), generation);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), Crc32.HashToUInt32(header.AsSpan(0, 16)));
        RandomAccess.Write(handle, header, 0);
        DataSync(handle);
    }

    // The header's generation and what replaying its records did. A new or unreadable journal replays nothing and starts
    // from the clock's ticks, above any generation an older life of the file wrote, so none of its records ever matches.
    private static (long Generation, ReplayOutcome Outcome) Replay(string root, Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        var length = RandomAccess.GetLength(handle);
        var header = new byte[HeaderBytes];
        if (length < HeaderBytes || RandomAccess.Read(handle, header, 0) < HeaderBytes
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != HeaderMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16)) != Crc32.HashToUInt32(header.AsSpan(0, 16)))
        {
            return (DateTime.UtcNow.Ticks, new ReplayOutcome(0, TornTail: false));
        }

        var generation = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var records = 0;
        var torn = false;
        Span<byte> head = stackalloc byte[RecordHeaderBytes];
        for (long at = HeaderBytes; ;)
        {
            if (at + RecordHeaderBytes > length)
            {
                // The file ends inside a record's header: torn unless what is left is zeros (a preallocated end).
                var rest = new byte[length - at];
                torn = RandomAccess.Read(handle, rest, at) > 0 && rest.AsSpan().ContainsAnyExcept((byte)0);
                break;
            }

            // Zeros, or an older generation's bytes, after the last record: the end.
            if (RandomAccess.Read(handle, head, at) < RecordHeaderBytes || BinaryPrimitives.ReadUInt32LittleEndian(head) != RecordMagic
                || BinaryPrimitives.ReadInt64LittleEndian(head[8..]) != generation)
            {
                break;
            }

            // A record of this generation that is cut short or does not match its checksum: a torn write, never applied.
            var size = BinaryPrimitives.ReadInt32LittleEndian(head[4..]);
            if (size < MinPayload || at + RecordHeaderBytes + size > length)
            {
                torn = true;
                break;
            }

            var payload = new byte[size];
            if (RandomAccess.Read(handle, payload, at + RecordHeaderBytes) < size || BinaryPrimitives.ReadUInt32LittleEndian(head[16..]) != Checksum(generation, payload)
                || MinPayload + BinaryPrimitives.ReadUInt16LittleEndian(payload.AsSpan(1)) > size)
            {
                torn = true;
                break;
            }

            Apply(root, payload, touched);
            records++;
            at += RecordHeaderBytes + size;
        }

        foreach (var path in touched)
        {
            if (File.Exists(path))
            {
                SyncFile(path);
            }

            if (Path.GetDirectoryName(path) is { } folder && Directory.Exists(folder))
            {
                SyncFolder(folder);
            }
        }

        return (generation, new ReplayOutcome(records, torn));
    }

    // One record onto the files: the file becomes its first `offset` bytes followed by the record's bytes.
    private static void Apply(string root, byte[] payload, HashSet<string> touched)
    {
        var kind = (Kind)payload[0];
        var pathLength = BinaryPrimitives.ReadUInt16LittleEndian(payload.AsSpan(1));
        var path = Path.GetFullPath(Path.Combine(root, Encoding.UTF8.GetString(payload, 3, pathLength)));
        var offset = BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(3 + pathLength));
        var mtime = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(11 + pathLength))).UtcDateTime;
        var bytes = payload.AsSpan(19 + pathLength);
        switch (kind)
        {
            case Kind.Append:
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using (var file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite))
                {
                    if (RandomAccess.GetLength(file) < offset)
                    {
                        // The bytes before it are gone (the file was cut by hand): a gap is never filled with zeros.
                        return;
                    }

                    RandomAccess.SetLength(file, offset);
                    RandomAccess.Write(file, bytes, offset);
                }

                File.SetLastWriteTimeUtc(path, mtime);
                touched.Add(path);
                break;
            case Kind.Mtime when File.Exists(path):
                File.SetLastWriteTimeUtc(path, mtime);
                touched.Add(path);
                break;
            case Kind.Delete:
                File.Delete(path);
                touched.Add(path);
                break;
            case Kind.DeleteTree when Directory.Exists(path):
                Directory.Delete(path, recursive: true);
                touched.Add(path);
                break;
        }
    }

    private static void SyncFile(string path)
    {
        try
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            DataSync(file);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Deleted since: its deletion is what must last, and the folder's sync covers it.
        }
    }

    // A folder's entries (a created or deleted file) reach the disk with an fsync of the folder itself (Linux).
    private static void SyncFolder(string folder)
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists(folder))
        {
            return;
        }

        var fd = Native.Open(folder, 0 /* O_RDONLY */);
        if (fd >= 0)
        {
            _ = Native.FSync(fd);
            _ = Native.Close(fd);
        }
    }

    private static void DataSync(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            if (Native.FDataSync(handle) != 0)
            {
                throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
            }

            return;
        }

        RandomAccess.FlushToDisk(handle);
    }

    private enum Kind : byte
    {
        Append = 1,
        Mtime = 2,
        Delete = 3,
        DeleteTree = 4,
    }

    private sealed record Pending(Kind Kind, string Path, long Offset, long Mtime, ReadOnlyMemory<byte> Bytes, TaskCompletionSource Durable);

    // The journal's open file, closed once.
    private sealed class SafeFileHandleOwner(Microsoft.Win32.SafeHandles.SafeFileHandle handle) : IDisposable
    {
        public Microsoft.Win32.SafeHandles.SafeFileHandle Handle => handle;

        public void Dispose() => handle.Dispose();
    }

    private static partial class Native
    {
        [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
        public static partial int FDataSync(Microsoft.Win32.SafeHandles.SafeFileHandle fd);

        [LibraryImport("libc", EntryPoint = "posix_fallocate")]
        public static partial int FAllocate(Microsoft.Win32.SafeHandles.SafeFileHandle fd, long offset, long length);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static partial int FSync(int fd);

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        public static partial int Close(int fd);
    }
}
