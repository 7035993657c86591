namespace Sessions.Cluster.Catalog.Sqlite;

/// <summary>Options of the SQLite catalog.</summary>
public sealed class SqliteCatalogOptions
{
    /// <summary>Default database file, relative to the working directory.</summary>
    public const string DefaultPath = ".data/catalog.db";

    /// <summary>Path of the database file (created when missing).</summary>
    public string Path { get; set; } = DefaultPath;
}
