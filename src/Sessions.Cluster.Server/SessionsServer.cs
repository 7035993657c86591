using Orleans.Dashboard;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Server.Api;
using Sessions.Cluster.Server.Auth;
using Sessions.Cluster.Server.Console;

namespace Sessions.Cluster.Server;

/// <summary>
/// Builds the Sessions.Cluster HTTP server. <c>Sessions:Mode</c> picks the deployment (see
/// <see cref="StorageRegistration"/>): embedded (default; files and SQLite under <c>Sessions:DataDir</c>) or cluster
/// (Azure Blob and PostgreSQL). Other keys (also as environment variables, <c>Sessions__MaxEntryBytes</c> …):
/// <c>Sessions:MaxEntryBytes</c>, <c>Sessions:FlushToDisk</c>; <c>--urls</c> picks the address (default
/// <c>http://127.0.0.1:5080</c>).
/// </summary>
public static partial class SessionsServer
{
    /// <summary>Default listen address of the embedded server.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Every configuration key the server reads (as environment variables, <c>:</c> becomes <c>__</c>), derived from
    /// <see cref="SessionsOptions"/>. README.md lists them; the deploy files may use only these.
    /// </summary>
    public static IReadOnlyList<string> ConfigurationKeys => SessionsOptions.Keys;

    /// <summary>
    /// Builds the application from command-line arguments; <paramref name="configure"/> may override services (tests
    /// replace the <see cref="StoreClock"/>).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // appsettings.json is read once: reloading it on change watches the whole content root, and the default data
        // folder (./.data) is inside it, so every new transcript file woke the watcher (~4 % of a populate's CPU).
        // A later --hostBuilder:reloadConfigOnChange=true still turns it back on.
        var builder = WebApplication.CreateSlimBuilder(["--hostBuilder:reloadConfigOnChange=false", .. args]);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        // Every setting, bound and checked once (a value that does not convert names its key).
        var options = SessionsOptions.From(builder.Configuration);
        builder.Services.AddSingleton(options);
        var limits = new EntryLimits { MaxEntryBytes = options.MaxEntryBytes, MaxBodyBytesInFlight = options.MaxBodyBytesInFlight };
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // A start prints the few lines a person reads (ours says the address, mode and storage once the port is bound):
        // Orleans' option dumps, the placement pipeline's Polly attempts and the host's banner are Information, and the
        // key ring's "no XML encryptor" warning says what is true of every file in the data folder (Debug shows all).
        builder.Logging.AddFilter("Orleans", LogLevel.Warning);
        // A grain service logs its start and ring range at Information, as Orleans' own do.
        builder.Logging.AddFilter(typeof(Grains.CatalogWritesService).FullName, LogLevel.Warning);
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager", LogLevel.Error);
        // A stop (SIGTERM) ends within this, whatever storage does (ShutdownWatchdog ends what Orleans still retries).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.Services.AddHostedService<ShutdownWatchdog>();
        builder.Services.AddSingleton(new StoreClock(TimeProvider.System));
        var storage = builder.Services.AddSessionStorage(options, limits);
        var auth = builder.Services.AddSessionsAuth(options.Auth);
        AuthRegistration.EnsureSafeBinding(auth, (builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) ?? DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries));
        builder.Services.RestrictOpenServerHosts(auth, builder.Configuration);
        builder.Services.AddSingleton(options.Limits);
        builder.Services.AddSingleton(sp => new TenantService(sp.GetRequiredService<ITenantDirectory>(), sp.GetRequiredService<ISessionCatalog>(),
            sp.GetRequiredService<ITranscriptStore>(), sp.GetRequiredService<StoreClock>().Time, sp.GetRequiredService<TenantLimits>()));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = limits.MaxBatchBytes);
        builder.Services.AddSingleton(limits);
        builder.Services.AddSingleton(new BodyBudget(limits.MaxBodyBytesInFlight));
        builder.Services.AddSingleton(sp => new SessionService(sp.GetRequiredService<ITranscriptStore>(), sp.GetRequiredService<ISessionCatalog>(),
            sp.GetRequiredService<StoreClock>().Time, limits, sp.GetRequiredService<TenantService>(), sp.GetRequiredService<ITenantDirectory>())
        { IndexContent = options.IndexContent });
        builder.Services.AddSingleton(sp => new SessionQueries(sp.GetRequiredService<ISessionCatalog>()) { ContentSearch = options.IndexContent });
        builder.Services.AddSingleton<SessionGrains>();
        builder.Services.AddSingleton<TenantGrainStates>();
        if (options.RowRecoveryPeriod <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"Sessions:RowRecoveryPeriod is {options.RowRecoveryPeriod}; give a period above zero, e.g. 00:00:30.");
        }

        // A cluster's transcripts are a network away: its grains keep hot logs in memory (embedded files are local).
        builder.Services.AddSingleton(new Grains.SessionGrainOptions
        {
            EphemeralIdle = options.EphemeralIdle,
            HotTranscriptBytes = options.HotTranscriptBytes ?? (options.IsCluster ? 32L * 1024 * 1024 : 0L),
            MessagesLogBytes = options.MessagesLogBytes,
            HotTranscriptBudget = options.HotTranscriptBudget,
            RowRecoveryPeriod = options.RowRecoveryPeriod,
        });
        builder.AddSessionsSilo(options);
        // The web console's sign-in cookie and anti-forgery tokens are encrypted with a key ring kept in the data folder
        // (embedded) or in the transcripts' blob container (cluster: shared by every node), so a restart or another node
        // does not sign browsers out.
        builder.Services.AddSessionsConsole(
            options.IsCluster ? null : Path.Combine(options.DataPath, "console-keys"),
            options.IsCluster ? new Azure.Storage.Blobs.BlobContainerClient(options.Blob.ConnectionString, options.Blob.Container, Storage.AzureBlob.AzureBlobOptions.ClientOptions()) : null);
        var retention = options.Retention;
        builder.Services.AddSingleton(retention);
        builder.Services.AddSingleton(sp => new RetentionService(sp.GetRequiredService<ISessionCatalog>(), sp.GetRequiredService<StoreClock>().Time, retention));

        builder.Services.TryAddSingleton(new RecoveryOptions(CleanStopMarker: null));
        builder.Services.AddHostedService<StartupRecovery>();
        builder.Services.AddSessionsTelemetry(options.Telemetry);
        builder.Services.AddProblemDetails();
        builder.Services.AddTenantRateLimits();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        // A query value that does not bind (?limit=abc) becomes a problem with a code, like every other error.
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ProblemsInOpenApi>().AddOperationTransformer<JsonBodiesInOpenApi>());
        builder.Services.AddHealthChecks().AddCheck<StorageHealthCheck>("storage", tags: ["ready"]);
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            // Answers carry entries (messages, sidecars) nested up to EntryLimits.MaxDepth inside their envelope.
            o.SerializerOptions.MaxDepth = EntryLimits.MaxEnvelopeDepth;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServerJsonContext.Default);
        });
        configure?.Invoke(builder);

        var app = builder.Build();
        app.Services.GetRequiredService<ISessionCatalog>().InitializeAsync(CancellationToken.None).GetAwaiter().GetResult();
        // Said once the port is bound, with the addresses it answers on.
        app.Lifetime.ApplicationStarted.Register(() => ServerLog.Started(app.Logger, string.Join(", ", app.Urls), storage));
        if (app.Services.GetRequiredService<ISessionCatalog>() is Catalog.PostgreSql.PostgresSessionCatalog postgres)
        {
            if (!postgres.RowLevelSecurityEnforced)
            {
                ServerLog.RowLevelSecurityBypassed(app.Logger);
            }

            if (!postgres.ContentSearchUsesIndex)
            {
                ServerLog.ContentSearchScans(app.Logger, Catalog.PostgreSql.PostgresSessionCatalog.LeakproofStatement);
            }
        }

        app.UseConsoleHeaders();
        app.UseApiReferenceHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        app.UseTenantRateLimits();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapApiReference();
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).AllowAnonymous();
        app.MapSessionStoreApi();
        app.MapSessionsApi();
        app.MapAdminApi();
        app.MapRetentionApi();
        app.MapTenantsApi();
        if (SiloRegistration.DashboardEnabled(options))
        {
            app.MapOrleansDashboard("/dashboard").RequireAuthorization(Auth.SessionsClaims.OperatorPolicy);
        }

        app.MapSessionsConsole();
        app.MapFallback((HttpContext http) => Results.Problem(
            detail: $"No endpoint matches {http.Request.Method} {http.Request.Path}. Keys must not contain '/', '\\', '..' or '%'; see /openapi/v1.json.",
            statusCode: StatusCodes.Status404NotFound,
            title: "Not found",
            extensions: new Dictionary<string, object?> { ["code"] = "route_not_found" })).AllowAnonymous();
        return app;
    }

    private static partial class ServerLog
    {
        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Sessions.Cluster listening on {Urls}, {Storage}")]
        public static partial void Started(ILogger logger, string urls, string storage);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "The PostgreSQL catalog connects as a role that bypasses row-level security (a superuser?); connect as an ordinary role that owns the tables so RLS is a second wall between tenants")]
        public static partial void RowLevelSecurityBypassed(ILogger logger);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Content search reads every message of the tenant for each query: row-level security keeps PostgreSQL from using the GIN index until a superuser runs, once, in the catalog's database: {Statement}")]
        public static partial void ContentSearchScans(ILogger logger, string statement);
    }
}
