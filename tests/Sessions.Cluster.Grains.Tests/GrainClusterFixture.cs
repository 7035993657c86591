using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Catalog.PostgreSql;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Grains;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>
/// Three silos in one process (Orleans' TestingHost, in-memory transport) over the cluster deployment's real storage:
/// each silo has its own transcript store on Azurite (as separate nodes would) and its own PostgreSQL catalog client;
/// reminders live in Azurite's table service, grain state (fork seeds) in its blob service. A tenant's first sweep comes one second after its reminder is registered.
/// </summary>
public sealed class GrainClusterFixture : IAsyncLifetime
{
    public AzuriteServer Azurite { get; private set; } = null!;

    public PostgresServer Postgres { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public AzureBlobOptions BlobOptions { get; private set; } = null!;

    /// <summary>Retention settings of every silo: sweeps each minute, the first one second after registration.</summary>
    public RetentionOptions Retention { get; } = new() { SweepPeriod = TimeSpan.FromMinutes(1), SweepDueTime = TimeSpan.FromSeconds(1) };

    /// <summary>How long an ephemeral session lives unused on these silos (shortened, so a test waits seconds).</summary>
    public TimeSpan EphemeralIdle { get; } = TimeSpan.FromSeconds(2);

    /// <summary>The largest log a grain keeps in memory on these silos (small, so a test can pass it).</summary>
    public long HotTranscriptBytes { get; } = 64 * 1024;

    /// <summary>The catalog's connection string.</summary>
    public string CatalogConnection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var azurite = AzuriteServer.StartNewAsync();
        var postgres = PostgresServer.StartNewAsync();
        Azurite = await azurite;
        Postgres = await postgres;
        var catalogConnection = CatalogConnection = await Postgres.CreateDatabaseAsync("sessions");
        await new PostgresSessionCatalog(new PostgresCatalogOptions { ConnectionString = catalogConnection }).InitializeAsync(CancellationToken.None);
        BlobOptions = new AzureBlobOptions { ConnectionString = Azurite.ConnectionString, Container = "grains" };
        var builder = new InProcessTestClusterBuilder(3);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddIncomingGrainCallFilter<SessionFaultFilter>();
            silo.UseAzureTableReminderService(o => o.TableServiceClient = new TableServiceClient(Azurite.ConnectionString));
            silo.AddAzureBlobGrainStorageAsDefault(o => o.BlobServiceClient = new BlobServiceClient(Azurite.ConnectionString));
        });
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddSingleton(TimeProvider.System);
            host.Services.AddSingleton(new EntryLimits());
            // The backends as a host registers them.
            host.Services.AddAzureBlobTranscriptStore(o => o.Configure(b => (b.ConnectionString, b.Container) = (BlobOptions.ConnectionString, BlobOptions.Container)));
            host.Services.AddPostgresSessionCatalog(o => o.Configure(c => c.ConnectionString = catalogConnection));
            host.Services.AddSingleton(sp => new SessionService(sp.GetRequiredService<ITranscriptStore>(), sp.GetRequiredService<ISessionCatalog>(), TimeProvider.System, sp.GetRequiredService<EntryLimits>(),
                directory: sp.GetRequiredService<Core.Tenants.ITenantDirectory>()));
            host.Services.AddSingleton(Retention);
            host.Services.AddSingleton(sp => new RetentionService(sp.GetRequiredService<ISessionCatalog>(), TimeProvider.System, Retention));
            host.Services.AddSingleton(new SessionGrainOptions { EphemeralIdle = EphemeralIdle, HotTranscriptBytes = HotTranscriptBytes });
            host.Services.AddSessionGrainServices();
            host.Services.AddSingleton<ITranscriptReader, CountingTranscriptReader>();
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>The grain factory of one silo: calls made through it start on that silo.</summary>
    public IGrainFactory FactoryOf(InProcessSiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<IGrainFactory>();

    /// <summary>The session service of one silo (reads storage as that node would).</summary>
    public SessionService SessionsOf(InProcessSiloHandle silo) => Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<SessionService>();

    /// <summary>The catalog reads of one silo's host (any node runs them).</summary>
    public SessionQueries QueriesOf(InProcessSiloHandle silo) => new(Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<ISessionCatalog>());

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Azurite.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
