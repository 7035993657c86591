namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>Options of the PostgreSQL catalog.</summary>
public sealed class PostgresCatalogOptions
{
    /// <summary>Npgsql connection string, e.g. <c>Host=127.0.0.1;Port=5432;Username=sessions;Password=…;Database=sessions</c>.</summary>
    public string ConnectionString { get; set; } = "";
}
