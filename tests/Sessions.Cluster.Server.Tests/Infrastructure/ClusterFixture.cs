using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// The cluster deployment on real parts: one Azurite, one PostgreSQL, and <see cref="NodeCount"/> server processes on
/// loopback that share nothing else. <see cref="Http"/> sends each request to the next node in turn.
/// </summary>
public class ClusterFixture : ITestServer
{
    private int _next;

    public virtual int NodeCount => 3;

    public AzuriteServer Azurite { get; private set; } = null!;

    public PostgresServer Postgres { get; private set; } = null!;

    public List<NodeProcess> Nodes { get; } = [];

    public Uri BaseUrl => Nodes[0].Url;

    public HttpClient Http { get; private set; } = null!;

    public string PostgresConnectionString { get; private set; } = "";

    public string Container { get; } = "c" + Guid.NewGuid().ToString("N")[..16];

    public async Task InitializeAsync()
    {
        var azurite = AzuriteServer.StartNewAsync();
        var postgres = PostgresServer.StartNewAsync();
        Azurite = await azurite;
        Postgres = await postgres;
        PostgresConnectionString = await Postgres.CreateDatabaseAsync("sessions");
        for (var i = 0; i < NodeCount; i++)
        {
            Nodes.Add(new NodeProcess([.. NodeArguments(), .. SiloArguments()]));
        }

        await Task.WhenAll(Nodes.Select(n => n.StartAsync()));
        Http = new HttpClient(new RoundRobinHandler(this)) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>The command-line arguments of every node.</summary>
    public virtual IReadOnlyList<string> NodeArguments() =>
    [
        "--Sessions:Mode", "cluster",
        "--Sessions:Blob:ConnectionString", Azurite.ConnectionString,
        "--Sessions:Blob:Container", Container,
        "--Sessions:Postgres:ConnectionString", PostgresConnectionString,
        "--Logging:LogLevel:Default", "Warning",
    ];

    /// <summary>A node's own silo endpoint (each node process is a silo of one cluster, membership in Azurite's table service).</summary>
    public IReadOnlyList<string> SiloArguments() =>
    [
        "--Sessions:Orleans:SiloPort", LocalPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture),
        "--Sessions:Orleans:GatewayPort", "0",
        "--Sessions:Orleans:AdvertisedAddress", "127.0.0.1",
        "--Sessions:Orleans:ClusterId", Container,
    ];

    /// <summary>A count from the catalog, read as the superuser (row-level security hides nothing from it).</summary>
    public async Task<long> CountAsync(string sql)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString) { Username = "postgres" };
        await using var connection = new Npgsql.NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, connection);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public HttpClient ClientFor(int node) => new() { BaseAddress = Nodes[node].Url, Timeout = TimeSpan.FromSeconds(60) };

    public async Task<(int Code, string Out, string Err)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await Cli.SessionsCli.RunAsync([.. args, "--url", BaseUrl.ToString()], output, error);
        return (code, output.ToString(), error.ToString());
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Azurite.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    /// <summary>Sends each request to the next running node.</summary>
    private sealed class RoundRobinHandler(ClusterFixture cluster) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var running = cluster.Nodes.Where(n => n.IsRunning).ToList();
            var node = running[(int)((uint)Interlocked.Increment(ref cluster._next) % running.Count)];
            request.RequestUri = new UriBuilder(request.RequestUri!) { Port = node.Port }.Uri;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
