using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Polly;
using Polly.Retry;
using Sessions.Cluster.Core;

namespace Sessions.Cluster.Storage.AzureBlob;

/// <summary>
/// A minimal Azure Blob Storage REST client with Shared Key authorization: the operations the transcript store uses
/// (container create, append blobs, Append Block with the append-position condition, ranged reads, properties,
/// listing, delete).
/// </summary>
/// <remarks>
/// Home-made because the Azure SDK (Azure.Storage.Blobs) cannot be restored from the package feed these machines
/// reach (it needs System.IO.Hashing). Kept to what the store needs; the signing follows the documented Shared Key
/// scheme and is tested against Azurite.
/// </remarks>
internal sealed class BlobRestClient : IDisposable
{
    private const string ApiVersion = "2025-11-05";
    private readonly HttpClient _http;
    private readonly string _account;
    private readonly byte[] _key;
    private readonly Uri _containerUri;

    // Connection-level failures (a dead pooled connection after a storage restart, a refused connect) are retried
    // briefly. This is safe for every operation we send: reads and deletes are idempotent, creates are conditional,
    // and a repeated Append Block is caught by its append-position condition.
    private readonly ResiliencePipeline _retry = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<HttpRequestException>(),
            MaxRetryAttempts = 2,
            Delay = TimeSpan.FromMilliseconds(100),
            BackoffType = DelayBackoffType.Exponential,
        })
        .Build();

    public BlobRestClient(AzureBlobOptions options)
    {
        var settings = ParseConnectionString(options.ConnectionString);
        _account = settings["AccountName"];
        _key = Convert.FromBase64String(settings["AccountKey"]);
        var endpoint = settings.TryGetValue("BlobEndpoint", out var e)
            ? e.TrimEnd('/')
            : $"{settings.GetValueOrDefault("DefaultEndpointsProtocol", "https")}://{_account}.blob.{settings.GetValueOrDefault("EndpointSuffix", "core.windows.net")}";
        _containerUri = new Uri($"{endpoint}/{options.Container}");
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), MaxConnectionsPerServer = 256 }) { Timeout = options.RequestTimeout };
    }

    /// <summary>Result of a successful Append Block.</summary>
    public sealed record AppendBlockResult(long Offset, int CommittedBlocks);

    /// <summary>Properties of a blob.</summary>
    public sealed record BlobProperties(long Length, int CommittedBlocks, DateTimeOffset LastModified, string ETag);

    /// <summary>Creates the container; true when it was created, false when it existed.</summary>
    public async Task<bool> CreateContainerAsync(CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, null, "restype=container", null, null, cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.Created || (response.StatusCode == HttpStatusCode.Conflict ? false : throw await FailAsync(response).ConfigureAwait(false));
    }

    /// <summary>Creates an empty append blob unless one exists; true when this call created it.</summary>
    public async Task<bool> CreateAppendBlobAsync(string blob, CancellationToken cancellationToken)
    {
        var response = await SendAsync(HttpMethod.Put, blob, null, [("x-ms-blob-type", "AppendBlob"), ("If-None-Match", "*")], null, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound && Header(response, "x-ms-error-code") == "ContainerNotFound")
        {
            // The container was removed behind our back: create it again, then the blob.
            response.Dispose();
            await CreateContainerAsync(cancellationToken).ConfigureAwait(false);
            response = await SendAsync(HttpMethod.Put, blob, null, [("x-ms-blob-type", "AppendBlob"), ("If-None-Match", "*")], null, cancellationToken).ConfigureAwait(false);
        }

        using var _ = response;
        return response.StatusCode switch
        {
            HttpStatusCode.Created => true,
            HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed => false,
            _ => throw await FailAsync(response).ConfigureAwait(false),
        };
    }

    /// <summary>
    /// Appends one block at <paramref name="appendPosition"/> (the blob's length the caller saw). Null when the
    /// position condition failed (someone else wrote, or an earlier attempt of ours landed) or the blob is gone.
    /// </summary>
    public async Task<AppendBlockResult?> AppendBlockAsync(string blob, ReadOnlyMemory<byte> block, long appendPosition, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Put, blob, "comp=appendblock", [("x-ms-blob-condition-appendpos", appendPosition.ToString(CultureInfo.InvariantCulture))], block, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return new AppendBlockResult(
                long.Parse(Header(response, "x-ms-blob-append-offset") ?? "0", CultureInfo.InvariantCulture),
                int.Parse(Header(response, "x-ms-blob-committed-block-count") ?? "0", CultureInfo.InvariantCulture));
        }

        if (response.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.NotFound)
        {
            return null;
        }

        throw await FailAsync(response).ConfigureAwait(false);
    }

    /// <summary>Length, committed block count and last write of a blob, or null when it does not exist.</summary>
    public async Task<BlobProperties?> GetPropertiesAsync(string blob, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Head, blob, null, null, null, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailAsync(response).ConfigureAwait(false);
        }

        return new BlobProperties(
            response.Content.Headers.ContentLength ?? 0,
            int.Parse(Header(response, "x-ms-blob-committed-block-count") ?? "0", CultureInfo.InvariantCulture),
            response.Content.Headers.LastModified ?? DateTimeOffset.UnixEpoch,
            response.Headers.ETag?.Tag ?? "");
    }

    /// <summary>Opens bytes <c>[offset, offset+count)</c> of a blob as a stream; null when the blob does not exist.</summary>
    public async Task<Stream?> OpenRangeAsync(string blob, long offset, long count, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            return new MemoryStream([], writable: false);
        }

        var response = await SendAsync(HttpMethod.Get, blob, null, [("x-ms-range", $"bytes={offset}-{offset + count - 1}")], null, cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            response.Dispose();
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw await FailAsync(response).ConfigureAwait(false);
            }
        }

        return new ResponseStream(response, await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
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
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
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
        using var response = await SendAsync(HttpMethod.Delete, blob, null, etag is null ? null : [("If-Match", etag)], null, cancellationToken).ConfigureAwait(false);
        return response.StatusCode switch
        {
            HttpStatusCode.Accepted => true,
            HttpStatusCode.NotFound => false,
            HttpStatusCode.PreconditionFailed => null,
            _ => throw await FailAsync(response).ConfigureAwait(false),
        };
    }

    /// <summary>Blob names (and, with a delimiter, virtual folder prefixes) under a prefix, page by page.</summary>
    public async IAsyncEnumerable<(string Name, bool IsPrefix, long Length, DateTimeOffset LastModified)> ListAsync(string prefix, string? delimiter, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? marker = null;
        do
        {
            var query = $"restype=container&comp=list&prefix={Uri.EscapeDataString(prefix)}&maxresults=5000"
                + (delimiter is null ? "" : $"&delimiter={Uri.EscapeDataString(delimiter)}")
                + (marker is null ? "" : $"&marker={Uri.EscapeDataString(marker)}");
            using var response = await SendAsync(HttpMethod.Get, null, query, null, null, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                yield break;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await FailAsync(response).ConfigureAwait(false);
            }

            var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            var blobs = xml.Root?.Element("Blobs");
            foreach (var p in blobs?.Elements("BlobPrefix") ?? [])
            {
                yield return (p.Element("Name")!.Value, true, 0, default);
            }

            foreach (var b in blobs?.Elements("Blob") ?? [])
            {
                var props = b.Element("Properties");
                var length = long.Parse(props?.Element("Content-Length")?.Value ?? "0", CultureInfo.InvariantCulture);
                var modified = DateTimeOffset.TryParse(props?.Element("Last-Modified")?.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var lm) ? lm : default;
                yield return (b.Element("Name")!.Value, false, length, modified);
            }

            marker = xml.Root?.Element("NextMarker")?.Value;
        }
        while (!string.IsNullOrEmpty(marker));
    }

    public void Dispose() => _http.Dispose();

    private async Task<HttpResponseMessage> SendAsync(
        HttpMethod method, string? blob, string? query, (string Name, string Value)[]? headers, ReadOnlyMemory<byte>? body, CancellationToken cancellationToken,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        HttpResponseMessage response;
        try
        {
            response = await _retry.ExecuteAsync(
                async ct =>
                {
                    using var request = CreateRequest(method, blob, query, headers, body);
                    return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new StorageUnavailableException($"Blob storage is unreachable ({method} {blob}): {ex.Message}", ex);
        }
        catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StorageUnavailableException($"Blob storage did not answer in time ({method} {blob}).", ex);
        }

        if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            using (response)
            {
                throw new StorageUnavailableException($"Blob storage answered {(int)response.StatusCode} {Header(response, "x-ms-error-code")} for {method} {blob}.");
            }
        }

        return response;
    }

    private HttpRequestMessage CreateRequest(HttpMethod method, string? blob, string? query, (string Name, string Value)[]? headers, ReadOnlyMemory<byte>? body)
    {
        var path = _containerUri.AbsolutePath + (blob is null ? "" : "/" + string.Join('/', blob.Split('/').Select(Uri.EscapeDataString)));
        var uri = new UriBuilder(_containerUri) { Path = path, Query = query ?? "" }.Uri;
        var request = new HttpRequestMessage(method, uri);
        request.Headers.TryAddWithoutValidation("x-ms-date", DateTimeOffset.UtcNow.ToString("R", CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("x-ms-version", ApiVersion);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (body is not null || method == HttpMethod.Put)
        {
            // ReadOnlyMemoryContent adds no Content-Type, so no unsigned header is sent.
            request.Content = new ReadOnlyMemoryContent(body ?? ReadOnlyMemory<byte>.Empty);
            request.Content.Headers.ContentLength = body?.Length ?? 0;
        }

        request.Headers.Authorization = new AuthenticationHeaderValue("SharedKey", $"{_account}:{Sign(request)}");
        return request;
    }

    // Shared Key: 12 fixed lines (Content-Length empty when 0), the sorted x-ms-* headers, then the canonical resource
    // "/<account><path>" plus sorted query parameters (on Azurite's path-style URLs the account appears twice).
    private string Sign(HttpRequestMessage request)
    {
        var content = request.Content?.Headers;
        var length = content?.ContentLength is > 0 ? content.ContentLength.Value.ToString(CultureInfo.InvariantCulture) : "";
        string H(string name) => request.Headers.TryGetValues(name, out var v) ? string.Join(",", v) : "";
        var text = new StringBuilder()
            .Append(request.Method.Method).Append('\n')
            .Append('\n') // Content-Encoding
            .Append('\n') // Content-Language
            .Append(length).Append('\n')
            .Append('\n') // Content-MD5
            .Append(content?.ContentType?.ToString() ?? "").Append('\n')
            .Append('\n') // Date (x-ms-date is used)
            .Append('\n') // If-Modified-Since
            .Append(H("If-Match")).Append('\n')
            .Append(H("If-None-Match")).Append('\n')
            .Append('\n') // If-Unmodified-Since
            .Append('\n'); // Range (x-ms-range is used)
        foreach (var header in request.Headers.Where(h => h.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase)).OrderBy(h => h.Key.ToLowerInvariant(), StringComparer.Ordinal))
        {
            text.Append(header.Key.ToLowerInvariant()).Append(':').Append(string.Join(",", header.Value).Trim()).Append('\n');
        }

        text.Append('/').Append(_account).Append(request.RequestUri!.AbsolutePath);
        var query = request.RequestUri.Query.TrimStart('?');
        if (query.Length > 0)
        {
            var parameters = query.Split('&')
                .Select(p => p.Split('=', 2))
                .GroupBy(p => Uri.UnescapeDataString(p[0]).ToLowerInvariant())
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var p in parameters)
            {
                text.Append('\n').Append(p.Key).Append(':').Append(string.Join(",", p.Select(v => v.Length > 1 ? Uri.UnescapeDataString(v[1]) : "").Order(StringComparer.Ordinal)));
            }
        }

        return Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;

    private static async Task<Exception> FailAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        return new StorageUnavailableException($"Blob storage answered {(int)response.StatusCode} {Header(response, "x-ms-error-code")}: {body[..Math.Min(body.Length, 300)]}");
    }

    private static Dictionary<string, string> ParseConnectionString(string connectionString)
    {
        if (connectionString.Trim().Equals("UseDevelopmentStorage=true", StringComparison.OrdinalIgnoreCase))
        {
            connectionString = AzureBlobOptions.DevelopmentConnectionString;
        }

        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length == 2)
            {
                result[kv[0].Trim()] = kv[1].Trim();
            }
        }

        foreach (var required in new[] { "AccountName", "AccountKey" })
        {
            if (!result.ContainsKey(required))
            {
                throw new ArgumentException($"The Azure Storage connection string has no {required}.", nameof(connectionString));
            }
        }

        return result;
    }

    /// <summary>A response body stream that disposes its response.</summary>
    private sealed class ResponseStream(HttpResponseMessage response, Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
