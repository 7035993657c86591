using Sessions.Cluster.Catalog.PostgreSql;
using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Telemetry;
using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Storage.FileSystem;

namespace Sessions.Cluster.Server;

/// <summary>
/// Chooses the transcript store and catalog from configuration. <c>Sessions:Mode</c> is <c>embedded</c> (default:
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
                services.AddSingleton<ITranscriptStore>(sp => new InstrumentedTranscriptStore(
                    new FileSystemTranscriptStore(
                        new FileSystemTranscriptStoreOptions { Root = Path.Combine(dataDir, "transcripts"), FlushToDisk = options.FlushToDisk },
                        sp.GetRequiredService<StoreClock>().Time),
                    "filesystem"));
                services.AddSingleton(_ => new SqliteSessionCatalog(new SqliteCatalogOptions { Path = Path.Combine(dataDir, "catalog.db"), RenderRow = Api.ServerJsonContext.RenderRow }));
                // One process owns the data folder, so row refreshes after appends can be coalesced off the append path.
                services.AddSingleton<ISessionCatalog>(sp => new WriteBehindCatalog(
                    sp.GetRequiredService<SqliteSessionCatalog>(), sp.GetRequiredService<StoreClock>().Time, options.CatalogWriteDelay));
                services.AddSingleton<ITenantDirectory>(sp => sp.GetRequiredService<SqliteSessionCatalog>());
                services.AddSingleton(new RecoveryOptions(Path.Combine(dataDir, "catalog.clean")));
                return $"embedded: transcripts and catalog under {dataDir}";
            }

            case DeploymentMode.Cluster:
            {
                var blob = new AzureBlobOptions { ConnectionString = options.Blob.ConnectionString, Container = options.Blob.Container };
                var postgres = options.Postgres.ConnectionString;
                if (string.IsNullOrWhiteSpace(postgres))
                {
                    throw new InvalidOperationException("Cluster mode needs Sessions:Postgres:ConnectionString (env Sessions__Postgres__ConnectionString).");
                }

                // One entry must fit in one append block.
                limits.MaxEntryBytes = Math.Min(limits.MaxEntryBytes, AzureBlobTranscriptStore.MaxEntryBytes);
                services.AddSingleton<AzureBlobTranscriptStore>(sp => new AzureBlobTranscriptStore(blob, sp.GetRequiredService<StoreClock>().Time));
                services.AddSingleton<ITranscriptStore>(sp => new InstrumentedTranscriptStore(sp.GetRequiredService<AzureBlobTranscriptStore>(), "azureblob"));
                services.AddSingleton<ISessionCatalog>(_ => new PostgresSessionCatalog(new PostgresCatalogOptions { ConnectionString = postgres }));
                services.AddSingleton(sp => (ITenantDirectory)sp.GetRequiredService<ISessionCatalog>());
                // A PostgreSQL outage met in a session grain or on a path without its own mapping answers 503.
                services.AddSingleton<Grains.OutageTranslator>(sp => ((PostgresSessionCatalog)sp.GetRequiredService<ISessionCatalog>()).TranslateOutage);
                return $"cluster: transcripts in blob container '{blob.Container}', catalog in PostgreSQL";
            }

            default:
                throw new InvalidOperationException($"Sessions:Mode is '{options.Mode}'; use 'embedded' or 'cluster'.");
        }
    }
}
