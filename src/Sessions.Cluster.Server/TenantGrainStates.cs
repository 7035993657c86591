using Orleans.Storage;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Grains;

namespace Sessions.Cluster.Server;

/// <summary>
/// The part of a tenant's erasure that lives in grains: fork seeds (they hold the fork's title) and parents' notes of
/// unfinished forks in grain state, both transient (cleared once a fork is written) and each named by a catalog note
/// (<see cref="Core.Storage.UnfinishedFork"/>); and what active session grains hold in memory
/// (<see cref="ISessionGrain.Forget"/>). An erased tenant leaves none behind.
/// </summary>
public sealed class TenantGrainStates(SessionService sessions, IServiceProvider services, IGrainFactory grains)
{
    /// <summary>
    /// Tells every active session grain of <paramref name="tenant"/>, on every silo, to drop what it holds and
    /// deactivate (found through Orleans' <c>IManagementGrain.GetActiveGrains</c>: no grain is activated for it).
    /// </summary>
    /// <returns>How many activations were told.</returns>
    public async Task<int> ForgetActiveSessionsAsync(string tenant, CancellationToken cancellationToken)
    {
        var type = grains.GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, "p", "s")).GetGrainId().Type;
        var active = await grains.GetGrain<IManagementGrain>(0).GetActiveGrains(type, cancellationToken).ConfigureAwait(false);
        var ours = active.Where(id => SessionGrainKey.Parse(id.Key.ToString()!).Tenant == tenant).ToList();
        await Parallel.ForEachAsync(ours, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken },
            async (id, _) => await grains.GetGrain<ISessionGrain>(id.Key.ToString()!).Forget().ConfigureAwait(false)).ConfigureAwait(false);
        return ours.Count;
    }

    /// <summary>
    /// Clears every session grain state of <paramref name="tenant"/> its catalog notes (run before the catalog's rows
    /// go); returns how many were cleared.
    /// </summary>
    public async Task<int> EraseAsync(string tenant, CancellationToken cancellationToken)
    {
        var storage = GrainStorageHelpers.GetGrainStorage(typeof(SessionGrain), services);
        var cleared = 0;
        foreach (var fork in await sessions.ListUnfinishedForksAsync(tenant, cancellationToken).ConfigureAwait(false))
        {
            cleared += await ClearAsync<ForkSeedState>(storage, ForkSeedState.StateName, SessionGrainKey.Format(tenant, fork.ProjectKey, fork.ForkId)).ConfigureAwait(false)
                + await ClearAsync<UnfinishedForksState>(storage, UnfinishedForksState.StateName, SessionGrainKey.Format(tenant, fork.ProjectKey, fork.ParentSessionId)).ConfigureAwait(false);
        }

        return cleared;
    }

    private async Task<int> ClearAsync<T>(IGrainStorage storage, string stateName, string key)
    {
        var grain = grains.GetGrain<ISessionGrain>(key).GetGrainId();
        var state = new GrainState<T>();
        await storage.ReadStateAsync(stateName, grain, state).ConfigureAwait(false);
        if (!state.RecordExists)
        {
            return 0;
        }

        await storage.ClearStateAsync(stateName, grain, state).ConfigureAwait(false);
        return 1;
    }
}
