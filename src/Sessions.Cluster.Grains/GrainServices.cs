using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>Services the grains of this project need in every silo besides Core's (SessionService, RetentionService).</summary>
public static class GrainServices
{
    /// <summary>
    /// Adds <see cref="TenantReminders"/>, the grain-backed <see cref="ISessionExpiry"/>, the silo's
    /// <see cref="HotTranscriptBudget"/>, the catalog's write-behind across silos (<see cref="CatalogWritesService"/>,
    /// <see cref="CatalogWriteBarrier"/> as the <see cref="ICatalogWriteBarrier"/>, <see cref="RowWriterRecovery"/>)
    /// and, unless registered already, default <see cref="SessionGrainOptions"/>.
    /// </summary>
    public static IServiceCollection AddSessionGrainServices(this IServiceCollection services)
    {
        services.TryAddSingleton(new SessionGrainOptions());
        services.AddGrainService<CatalogWritesService>();
        services.AddSingleton<ICatalogWriteBarrier, CatalogWriteBarrier>();
        services.AddHostedService<RowWriterRecovery>();
        services.AddSingleton<HotTranscriptBudget>();
        services.AddSingleton<TenantReminders>();
        services.AddSingleton<ISessionExpiry, SessionGrainExpiry>();
        return services;
    }
}
