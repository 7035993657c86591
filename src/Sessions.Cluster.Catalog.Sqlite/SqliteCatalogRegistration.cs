using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Catalog.Sqlite;

/// <summary>Registers the SQLite catalog, as Orleans' storage providers register themselves.</summary>
public static class SqliteCatalogRegistration
{
    /// <summary>
    /// Registers <see cref="ISessionCatalog"/> and <see cref="ITenantDirectory"/> in one SQLite database, with its
    /// options checked when the host starts. With <see cref="SqliteCatalogOptions.WriteBehind"/> above zero, row
    /// refreshes after appends are held back and coalesced that long (<see cref="WriteBehindCatalog"/>; only for a
    /// database one process owns), on the container's <see cref="StoreClock"/>, else the system's.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Binds or sets the options (<c>o =&gt; o.BindConfiguration("…")</c> or <c>o.Configure(…)</c>).</param>
    /// <exception cref="OptionsValidationException">At start: no database path, or a negative write-behind delay.</exception>
    public static IServiceCollection AddSqliteSessionCatalog(this IServiceCollection services, Action<OptionsBuilder<SqliteCatalogOptions>>? configure = null)
    {
        var options = services.AddOptions<SqliteCatalogOptions>();
        configure?.Invoke(options);
        options
            .Validate(o => !string.IsNullOrWhiteSpace(o.Path), "The SQLite catalog needs a database file (SqliteCatalogOptions.Path is empty).")
            .Validate(o => o.WriteBehind >= TimeSpan.Zero, "SqliteCatalogOptions.WriteBehind must not be negative.")
            .ValidateOnStart();
        services.AddSingleton(sp => new SqliteSessionCatalog(sp.GetRequiredService<IOptions<SqliteCatalogOptions>>().Value));
        services.AddSingleton<ITenantDirectory>(sp => sp.GetRequiredService<SqliteSessionCatalog>());
        services.AddSingleton<ISessionCatalog>(sp =>
        {
            var catalog = sp.GetRequiredService<SqliteSessionCatalog>();
            var delay = sp.GetRequiredService<IOptions<SqliteCatalogOptions>>().Value.WriteBehind;
            return delay > TimeSpan.Zero ? new WriteBehindCatalog(catalog, sp.GetService<StoreClock>()?.Time ?? TimeProvider.System, delay) : catalog;
        });
        return services;
    }
}
