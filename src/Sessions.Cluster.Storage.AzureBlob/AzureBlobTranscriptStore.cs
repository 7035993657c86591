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
/// <para>Blobs are reached through the Azure SDK (<see cref="BlobLogClient"/>). Writes go through <see cref="Open"/>'s
/// handle (<see cref="AzureBlobTranscriptLog"/>), held by the session's grain, fenced by the append position; the
/// store keeps no state per log.</para>
/// <para>Entries are packed into blocks of whole lines of at most 4 MiB, so a committed blob never ends inside a
/// line and readers never see a partial one. A log approaching the 50,000-block limit rolls over to segment
/// <c>&lt;name&gt;.1</c>, <c>&lt;name&gt;.2</c>, …; readers concatenate segments and see one log.</para>
/// </remarks>
internal sealed class AzureBlobTranscriptStore : ITranscriptStore
{
    private const string Extension = ".jsonl";
    private readonly BlobLogClient _client;
    private readonly AzureBlobOptions _options;
    private readonly TimeProvider _timeProvider;
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

    /// <inheritdoc />
    public ITranscriptLog Open(string tenant, SessionKey key) => new AzureBlobTranscriptLog(this, _client, BlobName(tenant, key), key, _options, _timeProvider);

    /// <inheritdoc />
    public Task<TranscriptStat?> StatAsync(string tenant, SessionKey key, CancellationToken cancellationToken) => Open(tenant, key).StatAsync(cancellationToken);

    /// <inheritdoc />
    public Task<Stream?> OpenReadAsync(string tenant, SessionKey key, long offset, long? count, CancellationToken cancellationToken) =>
        OpenLogAsync(BlobName(tenant, key), offset, count, cancellationToken);

    /// <summary>Opens committed bytes of the log whose first segment is <paramref name="name"/>, across its segments; null when it does not exist.</summary>
    internal async Task<Stream?> OpenLogAsync(string name, long offset, long? count, CancellationToken cancellationToken)
    {
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

    /// <summary>Deletes the log whose first segment is <paramref name="name"/> (a main key's: with the session's subpaths).</summary>
    internal async Task<bool> DeleteLogAsync(string name, SessionKey key, CancellationToken cancellationToken)
    {
        var removed = false;
        var segments = new List<string>();
        await foreach (var item in _client.ListAsync(name, null, cancellationToken).ConfigureAwait(false))
        {
            if (item.Name == name || IsSegmentOf(item.Name, name))
            {
                segments.Add(item.Name);
            }
        }

        // The last segment first, the first one last: a delete cut short never leaves a later segment without its
        // first, which a new log of the same name would take for its own (a log's first segment is what makes it exist).
        // (Their suffixes are digits: a longer name is a later segment, names of one length order as their numbers.)
        var names = segments.OrderByDescending(n => n.Length).ThenByDescending(n => n, StringComparer.Ordinal).ToList();

        if (key.IsMain)
        {
            var folder = name[..^Extension.Length] + "/";
            await foreach (var item in _client.ListAsync(folder, null, cancellationToken).ConfigureAwait(false))
            {
                names.Add(item.Name);
            }
        }

        foreach (var n in names)
        {
            removed |= await _client.DeleteAsync(n, cancellationToken).ConfigureAwait(false);
        }

        return removed;
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
        }).ConfigureAwait(false);
        return deleted;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ListSubpathsAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        KeyRules.ValidateProjectKey(projectKey);
        KeyRules.ValidateSessionId(sessionId);
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
                // A blob no key can name (written by another tool) is not a session of ours.
                if (SessionKey.TryCreate(parts[0], parts[1][..^Extension.Length], out var key)
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
        ArgumentNullException.ThrowIfNull(key);
        return key.Subpath is null
            ? $"{tenant}/{key.ProjectKey}/{key.SessionId}{Extension}"
            : $"{tenant}/{key.ProjectKey}/{key.SessionId}/{key.Subpath}{Extension}";
    }

    internal static string SegmentName(string name, int index) => index == 0 ? name : $"{name}.{index.ToString(CultureInfo.InvariantCulture)}";

    private static bool IsSegmentOf(string candidate, string name) =>
        candidate.Length > name.Length + 1 && candidate.StartsWith(name + ".", StringComparison.Ordinal) && candidate[(name.Length + 1)..].All(char.IsAsciiDigit);

    /// <summary>Creates the container on first use.</summary>
    internal async Task EnsureContainerAsync(CancellationToken cancellationToken)
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

    /// <summary>The segments of a log from <paramref name="fromIndex"/> on, with their properties; none when it does not exist.</summary>
    internal async Task<List<(string Name, long Length, int Blocks, DateTimeOffset LastModified)>> ProbeSegmentsAsync(string name, CancellationToken cancellationToken, int fromIndex = 0)
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
}
