namespace Sessions.Cluster.Grains;

/// <summary>
/// Lists the grains that hold a state of one name in the silo's grain storage: what a start needs to finish work a
/// grain persisted but nobody has touched since (forks whose seed is stored, see <see cref="ForkSeedState"/>). Orleans'
/// storage providers read and write one grain's state; they do not enumerate, so each deployment's storage has one.
/// </summary>
public interface IGrainStateIndex
{
    /// <summary>The grains holding a state named <paramref name="stateName"/>, in no particular order.</summary>
    IAsyncEnumerable<GrainId> ListAsync(string stateName, CancellationToken cancellationToken);
}
