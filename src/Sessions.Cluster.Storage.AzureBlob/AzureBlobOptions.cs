using Azure.Storage.Blobs;

namespace Sessions.Cluster.Storage.AzureBlob;

/// <summary>Options of the Azure Blob transcript store.</summary>
public sealed class AzureBlobOptions
{
    /// <summary>Azurite's well-known development connection string (blob endpoint on 127.0.0.1:10000).</summary>
    public const string DevelopmentConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    /// <summary>Default container holding every tenant's transcripts (tenants are the first path segment).</summary>
    public const string DefaultContainer = "sessions";

    /// <summary>Largest Append Block, in bytes (the service's limit, 4 MiB).</summary>
    public const int MaxBlockBytes = 4 * 1024 * 1024;

    /// <summary>Largest entry, in bytes: one entry and its newline must fit in one Append Block.</summary>
    public const int MaxEntryBytes = MaxBlockBytes - 1;

    /// <summary>Blocks per append blob before a log rolls to its next segment (the service allows 50,000).</summary>
    public const int DefaultMaxBlocksPerSegment = 49_000;

    /// <summary>
    /// Azure Storage connection string (<c>AccountName</c>, <c>AccountKey</c>, and <c>BlobEndpoint</c> or
    /// <c>DefaultEndpointsProtocol</c>/<c>EndpointSuffix</c>). <c>UseDevelopmentStorage=true</c> means Azurite.
    /// </summary>
    public string ConnectionString { get; set; } = DevelopmentConnectionString;

    /// <summary>Container name (3-63 lowercase letters, digits and hyphens).</summary>
    public string Container { get; set; } = DefaultContainer;

    /// <summary>Blocks per segment before rolling over; lowered by tests to exercise rollover.</summary>
    public int MaxBlocksPerSegment { get; set; } = DefaultMaxBlocksPerSegment;

    /// <summary>
    /// Options of every Azure SDK blob client we create: pinned to service version 2026-06-06, the newest Azurite 3.37
    /// accepts (Azure.Storage.Blobs 12.30 would send 2026-10-06), with the SDK's retry pipeline.
    /// </summary>
    public static BlobClientOptions ClientOptions() => new(BlobClientOptions.ServiceVersion.V2026_06_06);

    /// <summary>Timeout of one storage request.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
