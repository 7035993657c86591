using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

// A local Sessions.Cluster cluster in one command, without a container engine: Azurite (from the tests' npm lockfile),
// PostgreSQL (the machine's own binaries) and three silos of the server, with the Aspire dashboard.
//   dotnet run --project src/Sessions.Cluster.AppHost
var builder = DistributedApplication.CreateBuilder(args);
var repo = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
var data = Path.Combine(repo, ".data", "apphost");
var ports = (Blob: 10000, Queue: 10001, Table: 10002, Postgres: 54329);
var silos = builder.Configuration.GetValue("Silos", 3);

// Azurite as the tests pin it; installed only when missing or older than the lockfile (never under a running Azurite),
// under the lock the tests take for the same folder.
var npm = builder.AddExecutable("azurite-install", "flock", Path.Combine(repo, "tests", "servers"), ".npm-ci.lock", "bash", "-c",
    "[ -f node_modules/azurite/package.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund");
var azurite = builder.AddExecutable("azurite", "node", Path.Combine(repo, "tests", "servers"),
        "node_modules/azurite/dist/src/azurite.js", "--blobHost", "127.0.0.1", "--blobPort", $"{ports.Blob}", "--queueHost", "127.0.0.1", "--queuePort", $"{ports.Queue}",
        "--tableHost", "127.0.0.1", "--tablePort", $"{ports.Table}", "--location", Path.Combine(data, "azurite"), "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl")
    .WaitForCompletion(npm)
    .WithHealthCheck(Tcp.Check(builder, "azurite-blob", ports.Blob));
var postgres = builder.AddExecutable("postgres", "bash", builder.AppHostDirectory, "postgres.sh", Path.Combine(data, "postgres"), $"{ports.Postgres}")
    .WithHealthCheck(Tcp.Check(builder, "postgres-port", ports.Postgres));

var blob = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    + $"BlobEndpoint=http://127.0.0.1:{ports.Blob}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{ports.Queue}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{ports.Table}/devstoreaccount1;";
var catalog = $"Host=127.0.0.1;Port={ports.Postgres};Username=sessions;Database=sessions";
// A cluster of its own per start: the last start's silos, still listed in the membership table, are not waited for.
var clusterId = $"apphost-{DateTime.UtcNow:yyyyMMddHHmmss}";
for (var i = 1; i <= silos; i++)
{
    builder.AddProject<Projects.Sessions_Cluster_Server>($"silo-{i}", launchProfileName: null)
        .WithHttpEndpoint(name: "http")
        .WithEnvironment("Sessions__Mode", "cluster")
        .WithEnvironment("Sessions__Blob__ConnectionString", blob)
        .WithEnvironment("Sessions__Postgres__ConnectionString", catalog)
        .WithEnvironment("Sessions__Orleans__ClusterId", clusterId)
        .WithEnvironment("Sessions__Orleans__AdvertisedAddress", "127.0.0.1")
        .WithEnvironment("Sessions__Orleans__SiloPort", (11110 + i).ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithEnvironment("Sessions__Orleans__GatewayPort", (30000 + i).ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithHttpHealthCheck("/health/ready")
        .WaitFor(azurite)
        .WaitFor(postgres);
}

builder.Build().Run();

// Readiness of a process that only opens a port (Azurite, PostgreSQL): the port accepts a connection.
internal static class Tcp
{
    public static string Check(IDistributedApplicationBuilder builder, string name, int port)
    {
        builder.Services.AddHealthChecks().AddAsyncCheck(name, async cancellationToken =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port, cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (SocketException ex)
            {
                return HealthCheckResult.Unhealthy($"127.0.0.1:{port} does not accept connections yet: {ex.SocketErrorCode}");
            }
        });
        return name;
    }
}
