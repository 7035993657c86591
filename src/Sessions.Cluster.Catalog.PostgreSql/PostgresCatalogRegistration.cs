using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>Registers the PostgreSQL catalog, as Orleans' storage providers register themselves.</summary>
public static class PostgresCatalogRegistration
{
    /// <summary>
    /// Registers <see cref="ISessionCatalog"/> and <see cref="ITenantDirectory"/> in one PostgreSQL database shared by
    /// every node, with its options checked when the host starts. Where an <see cref="ICatalogWriteBarrier"/> is
    /// registered (a silo) and <see cref="PostgresCatalogOptions.WriteBehind"/> is on, rows and sidecars are written
    /// behind (<see cref="WriteBehindCatalog"/>) on the container's <see cref="StoreClock"/>; else through.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Binds or sets the options (<c>o =&gt; o.BindConfiguration("Sessions:Postgres")</c>).</param>
    /// <exception cref="OptionsValidationException">At start: no connection string, or a negative write-behind delay.</exception>
    public static IServiceCollection AddPostgresSessionCatalog(this IServiceCollection services, Action<OptionsBuilder<PostgresCatalogOptions>>? configure = null)
    {
        var options = services.AddOptions<PostgresCatalogOptions>();
        configure?.Invoke(options);
        options
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "The PostgreSQL catalog needs a connection string (PostgresCatalogOptions.ConnectionString is empty).")
            .Validate(o => o.WriteBehindDelay >= TimeSpan.Zero, "PostgresCatalogOptions.WriteBehindDelay must not be negative.")
            .ValidateOnStart();
        services.AddSingleton(sp => new PostgresSessionCatalog(sp.GetRequiredService<IOptions<PostgresCatalogOptions>>().Value));
        services.AddSingleton<ISessionCatalog>(sp =>
        {
            var catalog = sp.GetRequiredService<PostgresSessionCatalog>();
            var settings = sp.GetRequiredService<IOptions<PostgresCatalogOptions>>().Value;
            return settings.WriteBehind && sp.GetService<ICatalogWriteBarrier>() is { } barrier
                ? new WriteBehindCatalog(catalog, sp.GetService<StoreClock>()?.Time ?? TimeProvider.System, settings.WriteBehindDelay, barrier)
                : catalog;
        });
        services.AddSingleton<ITenantDirectory>(sp => sp.GetRequiredService<PostgresSessionCatalog>());
        return services;
    }
}
