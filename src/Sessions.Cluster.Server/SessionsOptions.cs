using System.Reflection;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Server.Auth;

namespace Sessions.Cluster.Server;

/// <summary>Where a server keeps its data (<c>Sessions:Mode</c>).</summary>
public enum DeploymentMode
{
    /// <summary>One node: transcripts as files and a SQLite catalog under <see cref="SessionsOptions.DataDir"/>, a one-silo cluster on loopback.</summary>
    Embedded,

    /// <summary>Many nodes: Azure append blobs, a PostgreSQL catalog, Orleans membership in Azure Table storage.</summary>
    Cluster,
}

/// <summary>
/// Every setting the server reads, bound once from the <c>Sessions</c> configuration section (command line
/// <c>--Sessions:Mode cluster</c>, environment <c>Sessions__Mode=cluster</c>). The documented keys are these properties'
/// paths (<see cref="Keys"/>); there is no other list.
/// </summary>
public sealed class SessionsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Sessions";

    /// <summary><c>embedded</c> (default) or <c>cluster</c>.</summary>
    public DeploymentMode Mode { get; set; } = DeploymentMode.Embedded;

    /// <summary>Embedded: folder of transcripts, catalog and grain state (default <c>.data</c>).</summary>
    public string DataDir { get; set; } = ".data";

    /// <summary>Embedded: fsync every append before acknowledging it (default true).</summary>
    public bool FlushToDisk { get; set; } = true;

    /// <summary>Embedded: how long a catalog row refresh after an append may be held back and coalesced (50 ms).</summary>
    public TimeSpan CatalogWriteDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Largest entry, in bytes (16 MiB; in a cluster at most one append block).</summary>
    public int MaxEntryBytes { get; set; } = EntryLimits.DefaultMaxEntryBytes;

    /// <summary>Request body bytes one node reads at once (192 MiB); past it a request gets 429.</summary>
    public long MaxBodyBytesInFlight { get; set; } = EntryLimits.DefaultMaxBodyBytesInFlight;

    /// <summary>How long a stop may take (30 s); a node whose storage is unreachable exits then (<see cref="ShutdownWatchdog"/>).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An ephemeral session unused this long is gone (1 h).</summary>
    public TimeSpan EphemeralIdle { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Cluster: how often the cluster looks for catalog rows held back by silos that died and rebuilds them from their
    /// transcripts (30 s; see <c>Sessions:Postgres:WriteBehind</c>).
    /// </summary>
    public TimeSpan RowRecoveryPeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Content search: index what sessions say (true, default). False keeps no message text in the catalog and
    /// <c>GET /v1/search</c> answers 404 <c>content_search_off</c>.
    /// </summary>
    public bool IndexContent { get; set; } = true;

    /// <summary>Largest log a session grain keeps in memory once read, in bytes; null: 32 MiB in a cluster, 0 (off) embedded.</summary>
    public long? HotTranscriptBytes { get; set; }

    /// <summary>Largest log whose messages a session grain keeps between reads and extends by each append, in bytes (32 MiB; 0 keeps none).</summary>
    public long MessagesLogBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>The most all session grains of one silo keep in memory (hot logs and kept messages), in bytes (512 MiB).</summary>
    public long HotTranscriptBudget { get; set; } = 512L * 1024 * 1024;

    /// <summary>Cluster: Azure Blob storage of transcripts and grain state.</summary>
    public BlobSettings Blob { get; set; } = new();

    /// <summary>Cluster: Azure Table storage of the Orleans membership.</summary>
    public TableSettings Table { get; set; } = new();

    /// <summary>Cluster: the PostgreSQL catalog.</summary>
    public PostgresSettings Postgres { get; set; } = new();

    /// <summary>The Orleans silo.</summary>
    public OrleansSettings Orleans { get; set; } = new();

    /// <summary>Retention: each tenant's cleanup reminder, the trash, holds.</summary>
    public RetentionOptions Retention { get; set; } = new();

    /// <summary>OpenTelemetry export.</summary>
    public TelemetrySettings Telemetry { get; set; } = new();

    /// <summary>API keys and the console's sign-in.</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Default per-tenant quotas and limits (tenants may have their own).</summary>
    public TenantLimits Limits { get; set; } = new();

    /// <summary>True in cluster mode.</summary>
    internal bool IsCluster => Mode == DeploymentMode.Cluster;

    /// <summary>The full data folder (embedded).</summary>
    internal string DataPath => Path.GetFullPath(DataDir);

    /// <summary>
    /// Every configuration key these options read, as <c>Sessions:Section:Name</c>: the settable properties of this type
    /// and of its sections, walked by reflection. README.md documents each; the deploy files may use only these.
    /// </summary>
    public static IReadOnlyList<string> Keys { get; } = KeysOf(typeof(SessionsOptions), Section);

    /// <summary>Binds the <c>Sessions</c> section of <paramref name="configuration"/>.</summary>
    /// <exception cref="InvalidOperationException">A value does not convert (the message names its key).</exception>
    public static SessionsOptions From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<SessionsOptions>() ?? new SessionsOptions();

    private static List<string> KeysOf(Type type, string prefix)
    {
        var keys = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetSetMethod() is not null))
        {
            var path = $"{prefix}:{property.Name}";
            var t = property.PropertyType;
            if (t.IsClass && t != typeof(string) && t.Namespace?.StartsWith("Sessions.Cluster", StringComparison.Ordinal) == true)
            {
                keys.AddRange(KeysOf(t, path));
            }
            else
            {
                keys.Add(path);
            }
        }

        return keys;
    }
}

/// <summary>Azure Blob settings (<c>Sessions:Blob</c>).</summary>
public sealed class BlobSettings
{
    /// <summary>Connection string (transcripts, grain state; with a <c>TableEndpoint</c>, also membership); default Azurite's development account.</summary>
    public string ConnectionString { get; set; } = Storage.AzureBlob.AzureBlobOptions.DevelopmentConnectionString;

    /// <summary>Container of all tenants' transcripts (<c>sessions</c>).</summary>
    public string Container { get; set; } = Storage.AzureBlob.AzureBlobOptions.DefaultContainer;
}

/// <summary>Azure Table settings (<c>Sessions:Table</c>).</summary>
public sealed class TableSettings
{
    /// <summary>Connection string of the Orleans membership and reminders; null: the blob connection string.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>PostgreSQL settings (<c>Sessions:Postgres</c>).</summary>
public sealed class PostgresSettings
{
    /// <summary>Npgsql connection string of the catalog; required in cluster mode.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Whether each silo writes catalog rows and sidecars behind its appends (true); bound by the catalog itself
    /// (<c>PostgresCatalogOptions.WriteBehind</c>).
    /// </summary>
    public bool WriteBehind { get; set; } = true;

    /// <summary>How long a silo holds a row back before writing it (zero: at once); for tests (<c>PostgresCatalogOptions.WriteBehindDelay</c>).</summary>
    public TimeSpan WriteBehindDelay { get; set; }
}

/// <summary>Orleans silo settings (<c>Sessions:Orleans</c>).</summary>
public sealed class OrleansSettings
{
    /// <summary>Silo-to-silo port; null: a free loopback port embedded, 11111 in a cluster.</summary>
    public int? SiloPort { get; set; }

    /// <summary>Gateway port for external Orleans clients (0 = none); null: none embedded, 30000 in a cluster.</summary>
    public int? GatewayPort { get; set; }

    /// <summary>Silos with the same id form one cluster (<c>sessions</c>).</summary>
    public string ClusterId { get; set; } = "sessions";

    /// <summary>IP or host name other silos reach this one at; null: this machine's host name.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>A session grain idle this long, in minutes, is deactivated (15).</summary>
    public int IdleMinutes { get; set; } = 15;
}

/// <summary>OpenTelemetry settings (<c>Sessions:Telemetry</c>).</summary>
public sealed class TelemetrySettings
{
    /// <summary>OTLP endpoint; null: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, else telemetry is off.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>http/protobuf</c> (default) or <c>grpc</c>.</summary>
    public string OtlpProtocol { get; set; } = "http/protobuf";

    /// <summary>Metric export period, in milliseconds (60,000).</summary>
    public int MetricExportIntervalMs { get; set; } = 60_000;
}
