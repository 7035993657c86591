using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>The <see cref="ISessionCatalog"/> contract; every catalog subclasses this suite.</summary>
public abstract class SessionCatalogConformance : IAsyncLifetime
{
    protected abstract ISessionCatalog Catalog { get; }

    public virtual Task InitializeAsync() => Catalog.InitializeAsync(CancellationToken.None);

    public virtual Task DisposeAsync() => Task.CompletedTask;

    private static SessionRecord Row(string tenant, string pk, string sid, long mtime, long size = 10, string? tag = null, string? summary = "s", bool listed = true) => new()
    {
        Tenant = tenant, ProjectKey = pk, SessionId = sid, Mtime = mtime, Size = size, Listed = listed, Tag = tag, Summary = summary,
    };

    [Fact]
    public async Task Upsert_ThenGet_RoundTripsEveryField()
    {
        var row = Row("t", "p", "s", 5) with { CustomTitle = "ct", FirstPrompt = "fp", Cwd = "/c", GitBranch = "main", CreatedAt = 42, ParentSessionId = "parent", IsSidechain = true };
        await Catalog.InitializeAsync(CancellationToken.None);
        await Catalog.UpsertAsync(row, CancellationToken.None);
        Assert.Equal(row, await Catalog.GetAsync("t", "p", "s", CancellationToken.None));
    }

    [Fact]
    public async Task Upsert_OlderSmallerState_NeverOverwritesNewer()
    {
        await Catalog.UpsertAsync(Row("t", "p", "s", 10, size: 100, summary: "new"), CancellationToken.None);
        await Catalog.UpsertAsync(Row("t", "p", "s", 9, size: 50, summary: "old"), CancellationToken.None);
        Assert.Equal("new", (await Catalog.GetAsync("t", "p", "s", CancellationToken.None))!.Summary);
    }

    [Fact]
    public async Task List_PagesNewestFirst_FiltersByTagAndText_AndHidesUnlisted()
    {
        for (var i = 0; i < 7; i++)
        {
            await Catalog.UpsertAsync(Row("t", "p", $"s{i}", 100 + i, tag: i % 2 == 0 ? "even" : null, summary: $"summary {i}"), CancellationToken.None);
        }

        await Catalog.UpsertAsync(Row("t", "p", "hidden", 999, listed: false, summary: null), CancellationToken.None);
        await Catalog.UpsertAsync(Row("other-tenant", "p", "x", 1000), CancellationToken.None);
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Catalog.ListAsync("t", "p", new SessionQuery(Limit: 3, Cursor: cursor), CancellationToken.None);
            ids.AddRange(page.Items.Select(r => r.SessionId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(["s6", "s5", "s4", "s3", "s2", "s1", "s0"], ids);
        Assert.Equal(["s6", "s4", "s2", "s0"], (await Catalog.ListAsync("t", "p", new SessionQuery(Tag: "even"), CancellationToken.None)).Items.Select(r => r.SessionId));
        Assert.Equal(["s3"], (await Catalog.ListAsync("t", "p", new SessionQuery(Text: "SUMMARY 3"), CancellationToken.None)).Items.Select(r => r.SessionId));
        await Assert.ThrowsAsync<InvalidRequestException>(() => Catalog.ListAsync("t", "p", new SessionQuery(Cursor: "garbage!"), CancellationToken.None));
    }

    [Fact]
    public async Task Summaries_CompareAndSwap()
    {
        Assert.Equal(1, await Catalog.PutSummaryAsync("t", "p", "s", "{\"a\":1}", 10, 0, CancellationToken.None));
        await Assert.ThrowsAsync<ConflictException>(() => Catalog.PutSummaryAsync("t", "p", "s", "{\"a\":2}", 11, 0, CancellationToken.None));
        Assert.Equal(2, await Catalog.PutSummaryAsync("t", "p", "s", "{\"a\":3}", 12, 1, CancellationToken.None));
        var stored = await Catalog.GetSummaryAsync("t", "p", "s", CancellationToken.None);
        Assert.Equal(new SummaryRecord("s", 12, "{\"a\":3}", 2), stored);
    }

    [Fact]
    public async Task Delete_RemovesRowAndSummary()
    {
        await Catalog.UpsertAsync(Row("t", "p", "gone", 1), CancellationToken.None);
        await Catalog.PutSummaryAsync("t", "p", "gone", "{}", 1, 0, CancellationToken.None);
        Assert.True(await Catalog.DeleteAsync("t", "p", "gone", CancellationToken.None));
        Assert.Null(await Catalog.GetAsync("t", "p", "gone", CancellationToken.None));
        Assert.Null(await Catalog.GetSummaryAsync("t", "p", "gone", CancellationToken.None));
    }
}

public sealed class SqliteSessionCatalogTests : SessionCatalogConformance
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", "catalog-" + Guid.NewGuid().ToString("N") + ".db");
    private readonly SqliteSessionCatalog _catalog;

    public SqliteSessionCatalogTests() => _catalog = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = _path });

    protected override ISessionCatalog Catalog => _catalog;

    [Fact]
    public async Task Initialize_Twice_IsSafe()
    {
        await _catalog.InitializeAsync(CancellationToken.None);
        await _catalog.InitializeAsync(CancellationToken.None);
        Assert.Null(await _catalog.GetAsync("t", "p", "s", CancellationToken.None));
    }
}

/// <summary>A real PostgreSQL server for one test class.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public Sessions.Cluster.Testing.PostgresServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await Sessions.Cluster.Testing.PostgresServer.StartNewAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The catalog conformance suite on a real PostgreSQL, each test in a fresh database.</summary>
public sealed class PostgresSessionCatalogTests(PostgresFixture postgres) : SessionCatalogConformance, IClassFixture<PostgresFixture>
{
    private Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog? _catalog;

    protected override ISessionCatalog Catalog => _catalog!;

    public override async Task InitializeAsync()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("c" + Guid.NewGuid().ToString("N"));
        _catalog = new Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog(new() { ConnectionString = connectionString });
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync() => await _catalog!.DisposeAsync();

    [Fact]
    public async Task Initialize_FromManyNodesAtOnce_MigratesOnce()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("m" + Guid.NewGuid().ToString("N"));
        var catalogs = Enumerable.Range(0, 6).Select(_ => new Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog(new() { ConnectionString = connectionString })).ToList();
        await Task.WhenAll(catalogs.Select(c => c.InitializeAsync(CancellationToken.None)));
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT count(*) FROM schema_migrations", connection);
        Assert.Equal(1L, await cmd.ExecuteScalarAsync());
        foreach (var c in catalogs)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Summary_DataIsKeptVerbatim_KeyOrderAndSpacingIncluded()
    {
        const string data = "{\"z\":1,\"a\":{\"y\":[3, 2]},\"m\":\"é\"}";
        await Catalog.PutSummaryAsync("t", "p", "verbatim", data, 5, 0, CancellationToken.None);
        Assert.Equal(data, (await Catalog.GetSummaryAsync("t", "p", "verbatim", CancellationToken.None))!.DataJson);
    }
}
