using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Storage.FileSystem;

/// <summary>
/// Transcripts as JSONL files laid out like Claude Code's config folder:
/// <c>&lt;root&gt;/&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c> and subpaths at
/// <c>&lt;root&gt;/&lt;tenant&gt;/&lt;projectKey&gt;/&lt;sessionId&gt;/&lt;subpath&gt;.jsonl</c>.
/// </summary>
/// <remarks>
/// One writer per log at a time (a striped per-log lock; the embedded deployment is one process). The committed
/// length is the offset after the last newline: a crash in the middle of an append leaves bytes after it that no
/// reader sees and the next append truncates. Appends are fenced by that length, deduplicated by <c>uuid</c>,
/// flushed to disk before they are acknowledged, and stamp the file's mtime from the injected clock so the store's
/// mtime and the catalog's share one clock.
/// </remarks>
public sealed class FileSystemTranscriptStore : ITranscriptStore
{
    private const string Extension = ".jsonl";
    private readonly string _root;
    private readonly FileSystemTranscriptStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ConcurrentDictionary<string, LogState> _states = new(StringComparer.Ordinal);

    /// <summary>Creates the store; the root folder is created when missing.</summary>
    public FileSystemTranscriptStore(FileSystemTranscriptStoreOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _timeProvider = timeProvider;
        _root = Path.GetFullPath(options.Root);
        Directory.CreateDirectory(_root);
    }

    /// <summary>The absolute data folder.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public async Task<AppendResult> AppendAsync(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> lines, long? expectedLength, CancellationToken cancellationToken)
    {
        var path = PathOf(tenant, key);
        var gate = LockFor(path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
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
            }

            using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite, 1, FileOptions.None);
            var state = await StateOfAsync(path, file, cancellationToken).ConfigureAwait(false);
            if (expectedLength is { } expected && expected != state.Committed)
            {
                throw Conflict(expected, state.Committed);
            }

            var now = _timeProvider.GetUtcNow();
            var (write, duplicates) = AppendPlan.Plan(lines, state.Index, now.ToUnixTimeMilliseconds());
            var buffer = new MemoryStream(write.Sum(l => l.Json.Length + 1));
            foreach (var line in write)
            {
                buffer.Write(line.Json.Span);
                buffer.WriteByte((byte)'\n');
            }

            var appended = write.Count;
            var previousMtime = created ? 0 : state.Mtime;
            if (appended > 0 || created)
            {
                if (file.Length != state.Committed)
                {
                    file.SetLength(state.Committed);
                }

                file.Position = state.Committed;
                await file.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken).ConfigureAwait(false);
                if (_options.FlushToDisk)
                {
                    file.Flush(flushToDisk: true);
                }

                state.Committed += buffer.Length;
                foreach (var line in write)
                {
                    state.Index.Add(line);
                }

                File.SetLastWriteTimeUtc(path, now.UtcDateTime);
                state.Mtime = now.ToUnixTimeMilliseconds();
            }

            return new AppendResult(appended, duplicates, state.Committed, state.Mtime, created, appended > 0 ? buffer.Length : 0, PreviousMtime: previousMtime);
        }
        catch (IOException ex)
        {
            _states.TryRemove(path, out _);
            throw new StorageUnavailableException($"Could not write transcript {key}: {ex.Message}", ex);
        }
        finally
        {
            gate.Release();
            TrimCache();
        }
    }

    /// <inheritdoc />
    public async Task SetMtimeAsync(string tenant, SessionKey key, long mtime, CancellationToken cancellationToken)
    {
        var path = PathOf(tenant, key);
        var gate = LockFor(path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(path))
            {
                return;
            }

            File.SetLastWriteTimeUtc(path, DateTimeOffset.FromUnixTimeMilliseconds(mtime).UtcDateTime);
            if (_states.TryGetValue(path, out var state))
            {
                state.Mtime = mtime;
            }
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        var path = PathOf(tenant, key);
        if (_states.TryGetValue(path, out var cached) && File.Exists(path))
        {
            return new TranscriptStat(key, cached.Committed, cached.Mtime);
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        var committed = await CommittedLengthAsync(path, info.Length, cancellationToken).ConfigureAwait(false);
        return new TranscriptStat(key, committed, new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeMilliseconds());
    }

    /// <inheritdoc />
    public async Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken)
    {
        var stat = await StatAsync(tenant, key, cancellationToken).ConfigureAwait(false);
        if (stat is null)
        {
            return null;
        }

        FileStream file;
        try
        {
            file = new FileStream(PathOf(tenant, key), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
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
    public async Task<bool> DeleteAsync(string tenant, SessionKey key, CancellationToken cancellationToken)
    {
        var path = PathOf(tenant, key);
        var gate = LockFor(path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var existed = File.Exists(path);
            if (existed)
            {
                File.Delete(path);
            }

            _states.TryRemove(path, out _);
            if (key.IsMain)
            {
                var dir = SessionFolder(tenant, key.ProjectKey, key.SessionId);
                if (Directory.Exists(dir))
                {
                    foreach (var sub in Directory.EnumerateFiles(dir, "*" + Extension, SearchOption.AllDirectories))
                    {
                        _states.TryRemove(sub, out _);
                    }

                    Directory.Delete(dir, recursive: true);
                    existed = true;
                }
            }
            else
            {
                PruneEmptyFolders(Path.GetDirectoryName(path)!, SessionFolder(tenant, key.ProjectKey, key.SessionId));
            }

            return existed;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public async Task<ConditionalDelete> DeleteIfUnchangedAsync(string tenant, SessionKey key, long expectedLength, CancellationToken cancellationToken)
    {
        var path = PathOf(tenant, key.Main);
        var gate = LockFor(path);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(path))
            {
                return ConditionalDelete.Missing;
            }

            var committed = _states.TryGetValue(path, out var state) ? state.Committed : await CommittedLengthAsync(path, new FileInfo(path).Length, cancellationToken).ConfigureAwait(false);
            if (committed != expectedLength)
            {
                return ConditionalDelete.Changed;
            }

            // Appends to this log wait on the same lock, so none can slip in before the file is gone.
            File.Delete(path);
            _states.TryRemove(path, out _);
        }
        finally
        {
            gate.Release();
        }

        await DeleteAsync(tenant, key.Main, cancellationToken).ConfigureAwait(false);
        return ConditionalDelete.Deleted;
    }

    /// <inheritdoc />
    public Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var dir = Path.Combine(_root, tenant);
        if (!Directory.Exists(dir))
        {
            return Task.FromResult(0);
        }

        var files = Directory.EnumerateFiles(dir, "*" + Extension, SearchOption.AllDirectories).ToList();
        foreach (var file in files)
        {
            _states.TryRemove(file, out _);
        }

        Directory.Delete(dir, recursive: true);
        return Task.FromResult(files.Count);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        var dir = SessionFolder(tenant, projectKey, sessionId);
        if (!Directory.Exists(dir))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        var result = Directory.EnumerateFiles(dir, "*" + Extension, SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f)[..^Extension.Length].Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<string>>(result);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TranscriptStat> ListMainTranscriptsAsync(string tenant, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var tenantDir = Path.Combine(_root, tenant);
        if (!Directory.Exists(tenantDir))
        {
            yield break;
        }

        foreach (var projectDir in Directory.EnumerateDirectories(tenantDir))
        {
            var projectKey = Path.GetFileName(projectDir);
            foreach (var file in Directory.EnumerateFiles(projectDir, "*" + Extension, SearchOption.TopDirectoryOnly))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var key = new SessionKey(projectKey, Path.GetFileName(file)[..^Extension.Length]);
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
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            yield return Path.GetFileName(dir);
        }
    }

    /// <summary>Absolute path of a log. The key must already be valid (<see cref="KeyRules"/>); the result is checked to stay under the root.</summary>
    public string PathOf(string tenant, SessionKey key)
    {
        KeyRules.ValidateTenant(tenant);
        KeyRules.Validate(key);
        var path = key.Subpath is null
            ? Path.Combine(_root, tenant, key.ProjectKey, key.SessionId + Extension)
            : Path.Combine(SessionFolder(tenant, key.ProjectKey, key.SessionId), key.Subpath.Replace('/', Path.DirectorySeparatorChar) + Extension);
        var full = Path.GetFullPath(path);
        if (!full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidKeyException("key", "resolves outside the tenant's folder");
        }

        return full;
    }

    private string SessionFolder(string tenant, string projectKey, string sessionId) => Path.Combine(_root, tenant, projectKey, sessionId);

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

    private SemaphoreSlim LockFor(string path) => _locks[(StringComparer.Ordinal.GetHashCode(path) & int.MaxValue) % _locks.Length];

    private async Task<LogState> StateOfAsync(string path, FileStream file, CancellationToken cancellationToken)
    {
        if (_states.TryGetValue(path, out var state))
        {
            return state;
        }

        state = new LogState { Mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeMilliseconds() };
        file.Position = 0;
        var buffer = new byte[Math.Max(1, file.Length)];
        var read = 0;
        while (read < file.Length)
        {
            var n = await file.ReadAsync(buffer.AsMemory(read, (int)file.Length - read), cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        var data = buffer.AsSpan(0, read);
        state.Committed = data.LastIndexOf((byte)'\n') + 1;
        state.Index.AddJsonl(data[..(int)state.Committed]);
        _states[path] = state;
        return state;
    }

    private static async Task<long> CommittedLengthAsync(string path, long length, CancellationToken cancellationToken)
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

    private void TrimCache()
    {
        if (_states.Count <= _options.MaxCachedLogs)
        {
            return;
        }

        foreach (var path in _states.Keys.Take(_states.Count - (_options.MaxCachedLogs / 2)).ToList())
        {
            var gate = LockFor(path);
            if (gate.Wait(0))
            {
                try
                {
                    _states.TryRemove(path, out _);
                }
                finally
                {
                    gate.Release();
                }
            }
        }
    }

    private static ConflictException Conflict(long expected, long actual) =>
        new("append_position_conflict", $"Expected transcript length {expected}, but it is {actual}: another writer appended first.",
            expected.ToString(CultureInfo.InvariantCulture), actual.ToString(CultureInfo.InvariantCulture));

    private sealed class LogState
    {
        public long Committed { get; set; }

        public long Mtime { get; set; }

        public LogIndex Index { get; } = new();
    }
}
