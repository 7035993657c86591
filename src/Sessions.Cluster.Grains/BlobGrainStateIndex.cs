using Azure.Storage.Blobs;

namespace Sessions.Cluster.Grains;

/// <summary>
/// <see cref="IGrainStateIndex"/> over Orleans' Azure Blob grain storage, which names each state's blob
/// <c>{stateName}-{grainId}.json</c> in one container (see Orleans' <c>AzureBlobGrainStorage</c>): a listing by the
/// prefix <c>{stateName}-</c> names the grains holding that state. A container not created yet holds none.
/// </summary>
public sealed class BlobGrainStateIndex(BlobContainerClient container) : IGrainStateIndex
{
    private const string Suffix = ".json";

    /// <inheritdoc />
    public async IAsyncEnumerable<GrainId> ListAsync(string stateName, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!await container.ExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            yield break;
        }

        var prefix = stateName + "-";
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }, cancellationToken).ConfigureAwait(false))
        {
            if (blob.Name.EndsWith(Suffix, StringComparison.Ordinal))
            {
                yield return GrainId.Parse(blob.Name[prefix.Length..^Suffix.Length]);
            }
        }
    }
}
