using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Providers;
using Orleans.Runtime.Hosting;
using Sessions.Cluster.Grains;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Storage.FileSystem;

namespace Sessions.Cluster.Server;

/// <summary>
/// Every node co-hosts an Orleans silo (<c>UseOrleans</c>); HTTP handlers call its grains. Embedded: a one-silo cluster
/// on loopback (<c>UseLocalhostClustering</c>, no gateway), grain state in files under the data folder
/// (<see cref="FileGrainStorage"/>), reminders in memory. Cluster: membership and reminders in
/// Azure Table storage, grain state in Azure Blob, membership options tuned so a dead silo is declared dead in about 3 s
/// by two votes.
/// </summary>
/// <remarks>
/// Keys: <c>Sessions:Orleans:SiloPort</c> (embedded default: a free loopback port; cluster default 11111),
/// <c>Sessions:Orleans:GatewayPort</c> (cluster default 30000; 0 = none), <c>Sessions:Orleans:ClusterId</c> (default
/// <c>sessions</c>), <c>Sessions:Orleans:AdvertisedAddress</c> (cluster: the address other silos reach this one at, an
/// IP or host name; default this machine's host name, which in a container or pod resolves to its own address),
/// <c>Sessions:Table:ConnectionString</c> (cluster membership; default the blob connection string, which must then
/// name a table endpoint).
/// </remarks>
public static class SiloRegistration
{
    /// <summary>Largest grain message body, in bytes: an append batch of the largest request body, with room for framing.</summary>
    public const int MaxMessageBodyBytes = 128 * 1024 * 1024;

    /// <summary>The Orleans service id of every deployment.</summary>
    public const string ServiceId = "sessions-cluster";

    /// <summary>Membership settings: probes time out after 2 s, two missed probes suspect, two votes declare dead.</summary>
    public static void TuneMembership(ClusterMembershipOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        o.ProbeTimeout = TimeSpan.FromSeconds(2);
        o.NumMissedProbesLimit = 2;
        o.NumVotesForDeathDeclaration = 2;
        o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
        o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
    }

    /// <summary>Adds the silo for the configured mode.</summary>
    /// <exception cref="InvalidOperationException">A setting is invalid.</exception>
    public static void AddSessionsSilo(this WebApplicationBuilder builder, SessionsOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var cluster = options.IsCluster;
        var orleans = options.Orleans;
        builder.UseOrleans(silo =>
        {
            silo.AddIncomingGrainCallFilter<SessionFaultFilter>();
            silo.Services.AddSessionGrainServices();
            silo.AddActivityPropagation();
            if (DashboardEnabled(options))
            {
                silo.AddDashboard();
            }

            silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromMinutes(orleans.IdleMinutes));
            // The largest grain message is an append of one request body (at most MaxBatchBytes, 64 MiB by default);
            // transcripts never travel as grain messages (views are lengths; the bytes stream from storage).
            silo.Configure<SiloMessagingOptions>(o => o.MaxMessageBodySize = MaxMessageBodyBytes);
            if (!cluster)
            {
                silo.UseLocalhostClustering(orleans.SiloPort is > 0 and var port ? port : FreeLoopbackPort(), orleans.GatewayPort ?? 0, serviceId: ServiceId, clusterId: "embedded");
                // Grain state in files beside the transcripts; reminders in memory: each tenant's retention reminder is
                // registered again at every start (StartupRecovery).
                var grainState = Path.Combine(options.DataPath, "grains");
                var flush = options.FlushToDisk;
                silo.AddFileGrainStorageAsDefault(o =>
                {
                    o.Root = grainState;
                    o.FlushToDisk = flush;
                });
                silo.UseInMemoryReminderService();
                return;
            }

            var blobConnection = options.Blob.ConnectionString;
            var tableConnection = options.Table.ConnectionString ?? blobConnection;
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = orleans.ClusterId;
                o.ServiceId = ServiceId;
            });
            var advertised = orleans.AdvertisedAddress ?? Dns.GetHostName();
            var siloPort = orleans.SiloPort ?? EndpointOptions.DEFAULT_SILO_PORT;
            var gatewayPort = orleans.GatewayPort ?? EndpointOptions.DEFAULT_GATEWAY_PORT;
            if (IPAddress.TryParse(advertised, out var ip))
            {
                silo.ConfigureEndpoints(ip, siloPort, gatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(ip));
            }
            else
            {
                silo.ConfigureEndpoints(advertised, siloPort, gatewayPort, AddressFamily.InterNetwork, listenOnAnyHostAddress: true);
            }

            silo.Configure<ClusterMembershipOptions>(TuneMembership);
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(30));
            silo.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(tableConnection));
            silo.UseAzureTableReminderService(o => o.TableServiceClient = new TableServiceClient(tableConnection));
            var blobs = new BlobServiceClient(blobConnection, AzureBlobOptions.ClientOptions());
            silo.AddAzureBlobGrainStorageAsDefault(o => o.BlobServiceClient = blobs);
        });
    }

    /// <summary>
    /// Whether the Orleans Dashboard is served: only where an operator key exists to open it (it profiles every grain
    /// call, which a server nobody can open it on should not pay for).
    /// </summary>
    public static bool DashboardEnabled(SessionsOptions options) => !string.IsNullOrEmpty(options?.Auth.OperatorKey);

    // The embedded silo talks only to itself; any free loopback port serves, so two embedded servers never collide.
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
