namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>Options of the PostgreSQL catalog.</summary>
public sealed class PostgresCatalogOptions
{
    /// <summary>Npgsql connection string, e.g. <c>Host=127.0.0.1;Port=5432;Username=sessions;Password=…;Database=sessions</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// Whether a silo writes catalog rows and summary sidecars behind its appends (<see cref="Core.Storage.WriteBehindCatalog"/>;
    /// default true): an append is acknowledged when its transcript is durable, and readers of any node pass the
    /// silos' barrier first. Only where the host registers an <see cref="Core.Storage.ICatalogWriteBarrier"/> (every
    /// silo does); false writes each through.
    /// </summary>
    public bool WriteBehind { get; set; } = true;

    /// <summary>
    /// How long a silo holds a row back before writing it (default zero: at once, with every row that queued while a
    /// write was under way). Longer only widens the window a crash leaves to the recovery of noted rows; for tests.
    /// </summary>
    public TimeSpan WriteBehindDelay { get; set; }
}
