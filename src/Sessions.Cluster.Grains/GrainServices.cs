using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Core.Retention;

namespace Sessions.Cluster.Grains;

/// <summary>Services the grains of this project need in every silo besides Core's (SessionService, RetentionService).</summary>
public static class GrainServices
{
    /// <summary>Adds <see cref="TenantReminders"/> and the grain-backed <see cref="ISessionExpiry"/>.</summary>
    public static IServiceCollection AddSessionGrainServices(this IServiceCollection services)
    {
        services.AddSingleton<TenantReminders>();
        services.AddSingleton<ISessionExpiry, SessionGrainExpiry>();
        return services;
    }
}
