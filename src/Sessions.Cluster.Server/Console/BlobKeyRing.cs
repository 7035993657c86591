using System.Xml.Linq;
using Azure.Storage.Blobs;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// The data-protection key ring of a cluster, kept as blobs (<c>console-keys/&lt;name&gt;.xml</c>) in the transcripts'
/// container, so every node encrypts and reads the console's sign-in cookie and anti-forgery tokens with the same keys
/// (a browser's requests may reach any node). ASP.NET Core's own extension point (<see cref="IXmlRepository"/>); the
/// Azure package that implements it is not in this project's package source. The keys are stored as data protection
/// writes them (not encrypted at rest, as on a file system): the storage account's access control guards them.
/// </summary>
internal sealed class BlobKeyRing(BlobContainerClient container) : IXmlRepository
{
    private const string Prefix = "console-keys/";

    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        if (!container.Exists())
        {
            return [];
        }

        var elements = new List<XElement>();
        foreach (var item in container.GetBlobs(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, Prefix, CancellationToken.None))
        {
            var content = container.GetBlobClient(item.Name).DownloadContent().Value.Content;
            using var stream = content.ToStream();
            elements.Add(XElement.Load(stream));
        }

        return elements;
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        container.CreateIfNotExists();
        using var stream = new MemoryStream();
        element.Save(stream, SaveOptions.DisableFormatting);
        stream.Position = 0;
        // A key is written once under its own name (a GUID): no other node writes the same blob.
        container.GetBlobClient(Prefix + friendlyName + ".xml").Upload(stream, overwrite: true);
    }
}
