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
/// Writes go through <see cref="Open"/>'s handle (<see cref="FileTranscriptLog"/>), held by the session's grain: the
/// embedded deployment is one process and one silo, so the grain is each file's only writer and no lock is taken
/// here. The store keeps no state per file.
/// </remarks>
internal sealed class FileSystemTranscriptStore : ITranscriptStore, IDisposable
{
    private const string Extension = ".jsonl";
    private readonly string _root;
    private readonly FileSystemTranscriptStoreOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly TranscriptJournal? _journal;

    /// <summary>Creates the store; the root folder is created when missing.</summary>
    /// <exception cref="IOException">Another store (another process) holds the folder's journal.</exception>
    public FileSystemTranscriptStore(FileSystemTranscriptStoreOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _timeProvider = timeProvider;
        _root = Path.GetFullPath(options.Root);
        Directory.CreateDirectory(_root);
        _journal = options.FlushToDisk ? TranscriptJournal.Open(_root, JournalPath(options), options.JournalBytes) : null;
    }

    /// <summary>
    /// What opening the journal replayed onto the files (records applied, and whether it stopped at a torn record), or
    /// null when appends are not flushed to disk (no journal).
    /// </summary>
    public (int Records, bool TornTail)? JournalReplay => _journal is { Replayed: var r } ? (r.Records, r.TornTail) : null;

    /// <summary>The journal's file: <see cref="FileSystemTranscriptStoreOptions.JournalPath"/>, else <c>&lt;Root&gt;.journal/journal</c>.</summary>
    public static string JournalPath(FileSystemTranscriptStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Path.GetFullPath(options.JournalPath ?? Path.Combine(Path.GetFullPath(options.Root).TrimEnd(Path.DirectorySeparatorChar) + ".journal", "journal"));
    }

    /// <summary>Checkpoints and closes the journal (a clean stop replays nothing at the next start).</summary>
    public void Dispose() => _journal?.Dispose();

    /// <summary>Lets go of the journal as a crash would (no checkpoint), so another store may open it (tests of replay).</summary>
    internal void Abandon() => _journal?.Abandon();

    /// <summary>The absolute data folder.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public ITranscriptLog Open(string tenant, SessionKey key) => new FileTranscriptLog(PathOf(tenant, key), SessionFolder(tenant, key.ProjectKey, key.SessionId), key, _journal, _timeProvider);

    /// <inheritdoc />
    public Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken) => Open(tenant, key).StatAsync(cancellationToken);

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken) =>
        Open(tenant, key).OpenReadAsync(offset, count, cancellationToken);

    /// <inheritdoc />
    public Task<int> DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        KeyRules.ValidateTenant(tenant);
        var dir = Path.Combine(_root, tenant);
        if (!Directory.Exists(dir))
        {
            return Task.FromResult(0);
        }

        return DeleteTreeAsync(dir);
    }

    private async Task<int> DeleteTreeAsync(string dir)
    {
        var files = Directory.EnumerateFiles(dir, "*" + Extension, SearchOption.AllDirectories).ToList();
        if (_journal is not null)
        {
            await _journal.DeleteAsync(dir, tree: true).ConfigureAwait(false);
        }

        Directory.Delete(dir, recursive: true);
        return files.Count;
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
                // A file no key can name (placed by hand) is not a session of ours.
                if (SessionKey.TryCreate(projectKey, Path.GetFileName(file)[..^Extension.Length], out var key)
                    && await StatAsync(tenant, key, cancellationToken).ConfigureAwait(false) is { } stat)
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

    /// <summary>Absolute path of a log (a <see cref="SessionKey"/> is safe by construction); the result is checked to stay under the root.</summary>
    public string PathOf(string tenant, SessionKey key)
    {
        KeyRules.ValidateTenant(tenant);
        ArgumentNullException.ThrowIfNull(key);
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
}
