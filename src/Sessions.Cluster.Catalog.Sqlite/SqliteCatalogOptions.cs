namespace Sessions.Cluster.Catalog.Sqlite;

/// <summary>Options of the SQLite catalog.</summary>
public sealed class SqliteCatalogOptions
{
    /// <summary>Default database file, relative to the working directory.</summary>
    public const string DefaultPath = ".data/catalog.db";

    /// <summary>Path of the database file (created when missing).</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary>
    /// Renders a row as the JSON object (UTF-8) a listing answers with; when set, each upsert stores it beside the row
    /// and <see cref="SqliteSessionCatalog.ListRenderedAsync"/> serves pages from it. A change to the rendered shape must
    /// come with a migration that clears the stored renderings (rows without one are rendered when listed).
    /// </summary>
    public Func<Sessions.Cluster.Core.Storage.SessionRecord, byte[]>? RenderRow { get; set; }

    /// <summary>
    /// How long a row refresh after an append may be held back and coalesced with later ones of the same session
    /// (<see cref="Sessions.Cluster.Core.Storage.WriteBehindCatalog"/>); zero (default) writes each through. Only for a
    /// database one process owns.
    /// </summary>
    public TimeSpan WriteBehind { get; set; }
}
