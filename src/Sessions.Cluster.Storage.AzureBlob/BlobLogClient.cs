using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Sessions.Cluster.Core;

namespace Sessions.Cluster.Storage.AzureBlob;

/// <summary>
/// The few blob operations the transcript store needs, on the Azure SDK (<c>Azure.Storage.Blobs</c>: authentication,
/// the retry pipeline, the wire format), each answering in the store's terms: a missing blob is null or false, a failed
/// condition (412) is null, and an outage is a <see cref="StorageUnavailableException"/>.
/// </summary>
internal sealed class BlobLogClient
{
    private readonly BlobContainerClient _container;

    public BlobLogClient(AzureBlobOptions options)
    {
        var clientOptions = AzureBlobOptions.ClientOptions();
        // Answer 503 within about a second when storage is down (the caller retries later); a retried Append Block is
        // caught by its append-position condition.
        clientOptions.Retry.MaxRetries = 2;
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(100);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        clientOptions.Retry.NetworkTimeout = options.RequestTimeout;
        _container = new BlobServiceClient(options.ConnectionString, clientOptions).GetBlobContainerClient(options.Container);
    }

    /// <summary>Result of a successful Append Block.</summary>
    public sealed record AppendBlockResult(long Offset, int CommittedBlocks);

    /// <summary>Properties of a blob.</summary>
    public sealed record BlobProperties(long Length, int CommittedBlocks, DateTimeOffset LastModified, string ETag);

    /// <summary>Creates the container unless it exists.</summary>
    public Task CreateContainerAsync(CancellationToken cancellationToken) =>
        GuardAsync("create container", null, () => _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken));

    /// <summary>Creates an empty append blob unless one exists; true when this call created it.</summary>
    public async Task<bool> CreateAppendBlobAsync(string blob, CancellationToken cancellationToken)
    {
        var client = _container.GetAppendBlobClient(blob);
        try
        {
            return await GuardAsync("create", blob, () => client.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false) is not null;
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // The container was removed behind our back: create it again, then the blob.
            await CreateContainerAsync(cancellationToken).ConfigureAwait(false);
            return await GuardAsync("create", blob, () => client.CreateIfNotExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false) is not null;
        }
    }

    /// <summary>
    /// Appends one block with <c>IfAppendPositionEqual</c> = <paramref name="appendPosition"/> (the length the caller
    /// saw). Null when the condition failed (someone else wrote, or an earlier attempt of ours landed) or the blob is gone.
    /// </summary>
    public async Task<AppendBlockResult?> AppendBlockAsync(string blob, ReadOnlyMemory<byte> block, long appendPosition, CancellationToken cancellationToken)
    {
        var options = new AppendBlobAppendBlockOptions { Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = appendPosition } };
        try
        {
            var info = await GuardAsync("append block", blob, async () =>
            {
                using var content = new MemoryStream(MemoryMarshalArray(block), writable: false);
                return await _container.GetAppendBlobClient(blob).AppendBlockAsync(content, options, cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
            return new AppendBlockResult(long.Parse(info.Value.BlobAppendOffset, System.Globalization.CultureInfo.InvariantCulture), info.Value.BlobCommittedBlockCount);
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return null;
        }
    }

    /// <summary>Length, committed block count, last write and ETag of a blob, or null when it does not exist.</summary>
    public async Task<BlobProperties?> GetPropertiesAsync(string blob, CancellationToken cancellationToken)
    {
        try
        {
            var p = (await GuardAsync("properties", blob, () => _container.GetBlobClient(blob).GetPropertiesAsync(cancellationToken: cancellationToken)).ConfigureAwait(false)).Value;
            return new BlobProperties(p.ContentLength, p.BlobCommittedBlockCount, p.LastModified, p.ETag.ToString());
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Opens bytes <c>[offset, offset+count)</c> of a blob as a stream; null when the blob does not exist.</summary>
    public async Task<Stream?> OpenRangeAsync(string blob, long offset, long count, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            return new MemoryStream([], writable: false);
        }

        try
        {
            var options = new BlobDownloadOptions { Range = new HttpRange(offset, count) };
            var result = await GuardAsync("download", blob, () => _container.GetBlobClient(blob).DownloadStreamingAsync(options, cancellationToken)).ConfigureAwait(false);
            return result.Value.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Reads bytes <c>[offset, offset+count)</c> of a blob; null when it does not exist.</summary>
    public async Task<byte[]?> ReadRangeAsync(string blob, long offset, long count, CancellationToken cancellationToken)
    {
        await using var stream = await OpenRangeAsync(blob, offset, count, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return null;
        }

        using var buffer = new MemoryStream((int)Math.Max(0, count));
        await GuardAsync("download", blob, async () => { await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false); return true; }).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>Deletes a blob; false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(string blob, CancellationToken cancellationToken) => await DeleteIfMatchAsync(blob, null, cancellationToken).ConfigureAwait(false) == true;

    /// <summary>
    /// Deletes a blob if its ETag is still <paramref name="etag"/> (any ETag when null): true when deleted, false when
    /// it did not exist, null when it changed since.
    /// </summary>
    public async Task<bool?> DeleteIfMatchAsync(string blob, string? etag, CancellationToken cancellationToken)
    {
        var conditions = etag is null ? null : new BlobRequestConditions { IfMatch = new ETag(etag) };
        try
        {
            return (await GuardAsync("delete", blob, () => _container.GetBlobClient(blob).DeleteIfExistsAsync(DeleteSnapshotsOption.None, conditions, cancellationToken)).ConfigureAwait(false)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            return null;
        }
    }

    /// <summary>Blob names (and, with a delimiter, virtual folder prefixes) under a prefix, page by page.</summary>
    public async IAsyncEnumerable<(string Name, bool IsPrefix)> ListAsync(string prefix, string? delimiter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pages = delimiter is null
            ? Pages(_container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken), b => (b.Name, false))
            : Pages(_container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, delimiter, prefix, cancellationToken), b => b.IsPrefix ? (b.Prefix, true) : (b.Blob.Name, false));
        await using var pager = pages.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            List<(string, bool)>? page;
            try
            {
                page = await GuardAsync("list", prefix, async () => await pager.MoveNextAsync().ConfigureAwait(false) ? pager.Current : null).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                yield break;
            }

            if (page is null)
            {
                yield break;
            }

            foreach (var item in page)
            {
                yield return item;
            }
        }
    }

    private static async IAsyncEnumerable<List<(string, bool)>> Pages<T>(AsyncPageable<T> pageable, Func<T, (string, bool)> select)
        where T : notnull
    {
        await foreach (var page in pageable.AsPages(pageSizeHint: 5000).ConfigureAwait(false))
        {
            yield return page.Values.Select(select).ToList();
        }
    }

    // Append Block takes a stream; the block is already one array (Pack builds it), so no copy is made.
    private static byte[] MemoryMarshalArray(ReadOnlyMemory<byte> block) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(block, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : block.ToArray();

    // Outages (5xx, 429, no answer after the SDK's retries) become StorageUnavailableException; other answers
    // (404, 409, 412) stay RequestFailedException for the caller to read.
    private static async Task<T> GuardAsync<T>(string operation, string? blob, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 0 or 429 or >= 500)
        {
            throw new StorageUnavailableException($"Blob storage failed ({operation} {blob}): {(e.Status == 0 ? e.Message : $"{e.Status} {e.ErrorCode}")}", e);
        }
        catch (AggregateException e)
        {
            throw new StorageUnavailableException($"Blob storage is unreachable ({operation} {blob}): {e.InnerExceptions.FirstOrDefault()?.Message ?? e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or (TaskCanceledException and not OperationCanceledException { CancellationToken.IsCancellationRequested: true }))
        {
            throw new StorageUnavailableException($"Blob storage is unreachable ({operation} {blob}): {e.Message}", e);
        }
    }
}
