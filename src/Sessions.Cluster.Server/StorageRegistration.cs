using Sessions.Cluster.Catalog.PostgreSql;
using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Storage.FileSystem;

namespace Sessions.Cluster.Server;

/// <summary>
/// Chooses the transcript store and catalog from configuration; each backend registers itself (its <c>AddXxx</c>, options
/// checked at start). <c>Sessions:Mode</c> is <c>embedded</c> (default:
/// files and SQLite under <c>Sessions:DataDir</c>) or <c>cluster</c> (Azure Blob transcripts, PostgreSQL catalog,
/// shared by every node).
/// </summary>
/// <remarks>
/// Cluster settings: <c>Sessions:Blob:ConnectionString</c> (default: Azurite's well-known development account on
/// 127.0.0.1:10000), <c>Sessions:Blob:Container</c> (default <c>sessions</c>), <c>Sessions:Postgres:ConnectionString</c>
/// (required). As environment variables: <c>Sessions__Mode</c>, <c>Sessions__Blob__ConnectionString</c>, …
/// </remarks>
public static class StorageRegistration
{
    /// <summary>Registers <see cref="ITranscriptStore"/> and <see cref="ISessionCatalog"/> for the configured mode.</summary>
    /// <returns>A one-line description of where data lives, for the startup log.</returns>
    /// <exception cref="InvalidOperationException">The mode is unknown or a required setting is missing.</exception>
    public static string AddSessionStorage(this IServiceCollection services, SessionsOptions options, EntryLimits limits)
    {
        switch (options.Mode)
        {
            case DeploymentMode.Embedded:
            {
                var dataDir = options.DataPath;
                services.AddFileSystemTranscriptStore(o => o.Configure(f =>
                {
                    f.Root = Path.Combine(dataDir, "transcripts");
                    f.FlushToDisk = options.FlushToDisk;
                }));
                // One process owns the data folder, so row refreshes after appends can be coalesced off the append path.
                services.AddSqliteSessionCatalog(o => o.Configure(c =>
                {
                    c.Path = Path.Combine(dataDir, "catalog.db");
                    c.RenderRow = Api.ServerJsonContext.RenderRow;
                    c.WriteBehind = options.CatalogWriteDelay;
                }));
                services.AddSingleton(new RecoveryOptions(Path.Combine(dataDir, "catalog.clean")));
                return $"embedded: transcripts and catalog under {dataDir}";
            }

            case DeploymentMode.Cluster:
            {
                if (string.IsNullOrWhiteSpace(options.Postgres.ConnectionString))
                {
                    throw new InvalidOperationException("Cluster mode needs Sessions:Postgres:ConnectionString (env Sessions__Postgres__ConnectionString).");
                }

                // One entry must fit in one append block.
                limits.MaxEntryBytes = Math.Min(limits.MaxEntryBytes, AzureBlobOptions.MaxEntryBytes);
                services.AddAzureBlobTranscriptStore(o => o.Configure(b =>
                {
                    b.ConnectionString = options.Blob.ConnectionString;
                    b.Container = options.Blob.Container;
                }));
                services.AddPostgresSessionCatalog(o => o.BindConfiguration($"{SessionsOptions.Section}:Postgres"));
                // A PostgreSQL outage met in a session grain or on a path without its own mapping answers 503.
                services.AddSingleton<Grains.OutageTranslator>(sp => sp.GetRequiredService<PostgresSessionCatalog>().TranslateOutage);
                return $"cluster: transcripts in blob container '{options.Blob.Container}', catalog in PostgreSQL";
            }

            default:
                throw new InvalidOperationException($"Sessions:Mode is '{options.Mode}'; use 'embedded' or 'cluster'.");
        }
    }
}
