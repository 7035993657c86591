using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>Registers the PostgreSQL catalog, as Orleans' storage providers register themselves.</summary>
public static class PostgresCatalogRegistration
{
    /// <summary>
    /// Registers <see cref="ISessionCatalog"/> and <see cref="ITenantDirectory"/> in one PostgreSQL database shared by
    /// every node (rows written through), with its options checked when the host starts.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Binds or sets the options (<c>o =&gt; o.BindConfiguration("Sessions:Postgres")</c>).</param>
    /// <exception cref="OptionsValidationException">At start: no connection string.</exception>
    public static IServiceCollection AddPostgresSessionCatalog(this IServiceCollection services, Action<OptionsBuilder<PostgresCatalogOptions>>? configure = null)
    {
        var options = services.AddOptions<PostgresCatalogOptions>();
        configure?.Invoke(options);
        options.Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "The PostgreSQL catalog needs a connection string (PostgresCatalogOptions.ConnectionString is empty).").ValidateOnStart();
        services.AddSingleton(sp => new PostgresSessionCatalog(sp.GetRequiredService<IOptions<PostgresCatalogOptions>>().Value));
        services.AddSingleton<ISessionCatalog>(sp => sp.GetRequiredService<PostgresSessionCatalog>());
        services.AddSingleton<ITenantDirectory>(sp => sp.GetRequiredService<PostgresSessionCatalog>());
        return services;
    }
}
