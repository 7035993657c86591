using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Catalog.PostgreSql;
using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Storage.FileSystem;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>Each backend registers itself with its options checked when the host starts (issue 23 §5).</summary>
[Trait("Category", "Unit")]
public sealed class BackendRegistrationTests
{
    [Theory]
    [InlineData("", "sessions", "needs a connection string")]
    [InlineData("UseDevelopmentStorage=true", "Bad_Container", "Container must be 3-63 lowercase")]
    [InlineData("UseDevelopmentStorage=true", "ab", "Container must be 3-63 lowercase")]
    [InlineData("UseDevelopmentStorage=true", "a--b", "Container must be 3-63 lowercase")]
    public void AzureBlob_RefusesBadOptionsAtStart_SayingWhich(string connectionString, string container, string message)
    {
        var services = new ServiceCollection().AddAzureBlobTranscriptStore(o => o.Configure(b => (b.ConnectionString, b.Container) = (connectionString, container)));
        AssertRefusedAtStart(services, message);
    }

    [Fact]
    public void FileSystem_Sqlite_Postgres_RefuseEmptyLocationsAtStart()
    {
        AssertRefusedAtStart(new ServiceCollection().AddFileSystemTranscriptStore(o => o.Configure(f => f.Root = " ")), "needs a folder");
        AssertRefusedAtStart(new ServiceCollection().AddSqliteSessionCatalog(o => o.Configure(c => c.Path = "")), "needs a database file");
        AssertRefusedAtStart(new ServiceCollection().AddSqliteSessionCatalog(o => o.Configure(c => c.WriteBehind = TimeSpan.FromSeconds(-1))), "must not be negative");
        AssertRefusedAtStart(new ServiceCollection().AddPostgresSessionCatalog(), "needs a connection string");
    }

    [Fact]
    public void FileGrainStorage_RefusesAnEmptyFolderAtStart_AndIsTheDefaultProviderOtherwise()
    {
        var refused = new ServiceCollection();
        new SiloServices(refused).AddFileGrainStorageAsDefault(o => o.Root = "");
        AssertRefusedAtStart(refused, "needs a folder");

        var services = new ServiceCollection();
        new SiloServices(services).AddFileGrainStorageAsDefault(o => o.Root = Sessions.Cluster.Testing.RepoPaths.TempDir("grain-registration"));
        services.AddSingleton<Orleans.Storage.IGrainStorageSerializer>(new Orleans.Storage.JsonGrainStorageSerializer(new Orleans.Serialization.OrleansJsonSerializer(Options.Create(new Orleans.Serialization.OrleansJsonSerializerOptions()))));
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal("FileGrainStorage", provider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(Orleans.Providers.ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME).GetType().Name);
    }

    // The part of a silo builder a provider's registration uses.
    private sealed class SiloServices(IServiceCollection services) : Orleans.Hosting.ISiloBuilder
    {
        public IServiceCollection Services => services;

        public Microsoft.Extensions.Configuration.IConfiguration Configuration { get; } = new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build();
    }

    [Fact]
    public async Task Registered_Backends_AreTheStoreAndCatalogAHostResolves_OnTheStoreClock()
    {
        var root = Sessions.Cluster.Testing.RepoPaths.TempDir("registration");
        var clock = new Sessions.Cluster.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_000_000));
        var services = new ServiceCollection()
            .AddSingleton(new StoreClock(clock))
            .AddFileSystemTranscriptStore(o => o.Configure(f => f.Root = Path.Combine(root, "t")))
            .AddSqliteSessionCatalog(o => o.Configure(c => (c.Path, c.WriteBehind) = (Path.Combine(root, "c.db"), TimeSpan.FromMilliseconds(50))));
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
        var store = provider.GetRequiredService<ITranscriptStore>();
        var written = await store.AppendAsync("t", new SessionKey("p", "s"), [new TranscriptLine("{\"type\":\"user\"}"u8.ToArray(), null)], null, CancellationToken.None);
        Assert.Equal(1_000_000, written.Mtime);
        Assert.IsType<WriteBehindCatalog>(provider.GetRequiredService<ISessionCatalog>());
        Assert.IsType<SqliteSessionCatalog>(provider.GetRequiredService<ITenantDirectory>());
    }

    private static void AssertRefusedAtStart(IServiceCollection services, string message)
    {
        using var provider = services.BuildServiceProvider();
        var validator = provider.GetRequiredService<IStartupValidator>();
        var error = Assert.Throws<OptionsValidationException>(validator.Validate);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
