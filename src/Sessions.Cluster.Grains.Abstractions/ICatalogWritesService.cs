using Orleans.Services;

namespace Sessions.Cluster.Grains;

/// <summary>
/// One per silo (an Orleans grain service): writes the catalog rows and summary sidecars the silo's session grains hold
/// back, when a reader anywhere asks (<c>CatalogWriteBarrier</c>).
/// </summary>
public interface ICatalogWritesService : IGrainService
{
    /// <summary>Returns when the rows and sidecars this silo held back when the call arrived are written.</summary>
    /// <param name="tenant">The tenant about to be read, or null for all (the silo writes all it holds either way).</param>
    /// <exception cref="Core.SessionsException">The catalog is unavailable (<c>storage_unavailable</c>).</exception>
    Task Flush(string? tenant);
}
