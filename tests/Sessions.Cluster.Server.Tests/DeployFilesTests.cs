using System.Text.RegularExpressions;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// No Docker engine runs here, so the deploy files are validated as far as possible: parsed, checked against the
/// configuration keys the server reads and the README documents, and a real node is booted from the compose file's
/// own environment against real Azurite and PostgreSQL.
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class DeployFilesTests
{
    private static readonly HashSet<string> KnownEnvironmentNames = SessionsServer.ConfigurationKeys.Select(k => k.Replace(":", "__", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);

    [GeneratedRegex(@"\bSessions__[A-Za-z_]+")]
    private static partial Regex SettingName();

    [Fact]
    public void Compose_HasAzuritePostgresThreeClusterNodesAndALoadBalancer()
    {
        var compose = LoadCompose();
        var services = (Dictionary<object, object>)compose["services"];
        Assert.Equal(["azurite", "lb", "node1", "node2", "node3", "postgres"], services.Keys.Select(k => (string)k).Order());
        foreach (var node in new[] { "node1", "node2", "node3" })
        {
            var environment = NodeEnvironment(services, node);
            Assert.Equal("cluster", environment["Sessions__Mode"]);
            Assert.Contains("BlobEndpoint=http://azurite:10000/", environment["Sessions__Blob__ConnectionString"], StringComparison.Ordinal);
            Assert.Contains("TableEndpoint=http://azurite:10002/", environment["Sessions__Blob__ConnectionString"], StringComparison.Ordinal);
            Assert.Contains("Host=postgres", environment["Sessions__Postgres__ConnectionString"], StringComparison.Ordinal);
        }

        var nginx = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "nginx.conf"));
        foreach (var node in new[] { "node1", "node2", "node3" })
        {
            Assert.Contains($"server {node}:8080", nginx, StringComparison.Ordinal);
        }

        Assert.Contains("EXPOSE 8080", File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile")), StringComparison.Ordinal);
    }

    [Fact]
    public void Compose_IsProductionShaped_OrdinaryDatabaseRole_NodeHealthChecks_GracefulStops_NoPostRetries()
    {
        var services = (Dictionary<object, object>)LoadCompose()["services"];
        var postgres = (Dictionary<object, object>)services["postgres"];
        Assert.Contains(((List<object>)postgres["volumes"]).Cast<string>(), v => v.StartsWith("./infra/postgres/create-sessions-role.sh:/docker-entrypoint-initdb.d/", StringComparison.Ordinal));
        var admin = Compose(((Dictionary<object, object>)postgres["environment"])["POSTGRES_USER"]);
        foreach (var name in new[] { "node1", "node2", "node3" })
        {
            var node = (Dictionary<object, object>)services[name];
            var connection = Compose(NodeEnvironment(services, name)["Sessions__Postgres__ConnectionString"]);
            Assert.Contains("Username=sessions;", connection, StringComparison.Ordinal);
            Assert.DoesNotContain($"Username={admin};", connection, StringComparison.Ordinal);
            Assert.Contains("/health/ready", string.Join(' ', HealthCheck(services, name)), StringComparison.Ordinal);
            var grace = ComposeDuration((string)node["stop_grace_period"]);
            var shutdown = TimeSpan.Parse(NodeEnvironment(services, name)["Sessions__ShutdownTimeout"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(grace > shutdown + ShutdownWatchdog.Grace, $"{name}: Docker kills after {grace}, the node may take {shutdown} + {ShutdownWatchdog.Grace}");
        }

        var lb = (Dictionary<object, object>)((Dictionary<object, object>)services["lb"])["depends_on"];
        Assert.All(new[] { "node1", "node2", "node3" }, n => Assert.Equal("service_healthy", ((Dictionary<object, object>)lb[n])["condition"]));
        var nginx = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "nginx.conf"));
        Assert.Matches(@"\n\s*proxy_next_upstream error timeout http_503;", nginx);
        Assert.DoesNotContain(nginx.Split('\n').Where(l => !l.TrimStart().StartsWith('#')), l => l.Contains("non_idempotent", StringComparison.Ordinal));
    }

    [Fact]
    public void Kubernetes_ManifestsParse_AndProbeTheServersHealthEndpoints()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepoPaths.Root, "infra", "kubernetes", "sessions-cluster.yaml")))
        {
            yaml.Load(reader);
        }

        var kinds = yaml.Documents.Select(d => ((YamlScalarNode)((YamlMappingNode)d.RootNode)[new YamlScalarNode("kind")]).Value).ToList();
        Assert.Equal(["ConfigMap", "Deployment", "PodDisruptionBudget", "Secret", "Service"], kinds.Order());
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "kubernetes", "sessions-cluster.yaml"));
        Assert.Contains("path: /health/ready", text, StringComparison.Ordinal);
        Assert.Contains("path: /health/live", text, StringComparison.Ordinal);

        var deployment = (YamlMappingNode)yaml.Documents.Single(d => ((YamlScalarNode)((YamlMappingNode)d.RootNode)[new YamlScalarNode("kind")]).Value == "Deployment").RootNode;
        var pod = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)deployment["spec"])["template"])["spec"];
        var container = (YamlMappingNode)((YamlSequenceNode)pod["containers"]).Children[0];
        var image = ((YamlScalarNode)container["image"]).Value!;
        Assert.Matches(@"^[^:@]+(:[0-9A-Za-z._-]+|@sha256:[0-9a-f]{64})$", image);
        Assert.False(image.EndsWith(":latest", StringComparison.Ordinal), $"the manifest runs {image}, a moving tag");
        Assert.Equal("/health/live", ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)container["startupProbe"])["httpGet"])["path"]).Value);
        var config = (YamlMappingNode)((YamlMappingNode)yaml.Documents.Single(d => ((YamlScalarNode)((YamlMappingNode)d.RootNode)[new YamlScalarNode("kind")]).Value == "ConfigMap").RootNode)["data"];
        var shutdown = TimeSpan.Parse(((YamlScalarNode)config["Sessions__ShutdownTimeout"]).Value!, System.Globalization.CultureInfo.InvariantCulture);
        var grace = TimeSpan.FromSeconds(int.Parse(((YamlScalarNode)pod["terminationGracePeriodSeconds"]).Value!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(grace > shutdown + ShutdownWatchdog.Grace, $"Kubernetes kills after {grace}, the node may take {shutdown} + {ShutdownWatchdog.Grace}");
    }

    [Fact]
    public void EverySettingTheDeployFilesUse_IsOneTheServerReads_AndTheReadmeDocuments()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        foreach (var key in SessionsServer.ConfigurationKeys)
        {
            var last = key.Split(':')[^1];
            Assert.True(readme.Contains(key, StringComparison.Ordinal) || readme.Contains($"`{last}`", StringComparison.Ordinal), $"README does not document {key}");
        }

        // …and the other way: every key of the README's configuration table is one the server reads.
        var table = readme[readme.IndexOf("## Configuration", StringComparison.Ordinal)..readme.IndexOf("The `Dockerfile`", StringComparison.Ordinal)];
        foreach (Match row in Regex.Matches(table, @"^\| `(Sessions:[A-Za-z:]+)`((?:, `[A-Za-z]+`)*)", RegexOptions.Multiline))
        {
            var first = row.Groups[1].Value;
            var prefix = first[..(first.LastIndexOf(':') + 1)];
            var keys = Regex.Matches(row.Groups[2].Value, "`([A-Za-z]+)`").Select(m => prefix + m.Groups[1].Value).Prepend(first);
            foreach (var key in keys)
            {
                Assert.True(SessionsServer.ConfigurationKeys.Contains(key), $"README documents {key}, which SessionsServer.ConfigurationKeys does not list");
            }
        }

        foreach (var file in new[] { "docker-compose.yml", "infra/kubernetes/sessions-cluster.yaml", "Dockerfile" })
        {
            foreach (Match m in SettingName().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, file))))
            {
                Assert.True(KnownEnvironmentNames.Contains(m.Value), $"{file} sets {m.Value}, which the server does not read");
            }
        }
    }

    [Fact]
    public async Task ANodeConfiguredExactlyAsTheComposeFileSays_ServesAppendsAndReads()
    {
        await using var azurite = await AzuriteServer.StartNewAsync();
        await using var postgres = await PostgresServer.StartNewAsync();
        var services = (Dictionary<object, object>)LoadCompose()["services"];
        var environment = NodeEnvironment(services, "node1").ToDictionary(kv => kv.Key, kv => Compose(kv.Value));

        // The compose file's PostgreSQL init script, run as the container's entrypoint would (as the administrator).
        var (code, output) = await NodeTools.RunAsync("bash", RepoPaths.Root, new Dictionary<string, string>
        {
            ["PATH"] = postgres.BinDirectory + ":" + Environment.GetEnvironmentVariable("PATH"),
            ["PGHOST"] = "127.0.0.1",
            ["PGPORT"] = postgres.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["POSTGRES_USER"] = "postgres",
            ["SESSIONS_DB_PASSWORD"] = Compose(((Dictionary<object, object>)((Dictionary<object, object>)services["postgres"])["environment"])["SESSIONS_DB_PASSWORD"]),
        }, "infra/postgres/create-sessions-role.sh");
        Assert.True(code == 0, output);
        var database = environment["Sessions__Postgres__ConnectionString"].Replace("Host=postgres;Port=5432;", $"Host=127.0.0.1;Port={postgres.Port};", StringComparison.Ordinal);

        // Only the host names change: the compose network's "azurite" and "postgres" are local processes here.
        environment["Sessions__Blob__ConnectionString"] = environment["Sessions__Blob__ConnectionString"]
            .Replace("http://azurite:10000/devstoreaccount1", azurite.BlobEndpoint.ToString().TrimEnd('/'), StringComparison.Ordinal)
            .Replace("http://azurite:10002/devstoreaccount1", azurite.TableEndpoint.ToString().TrimEnd('/'), StringComparison.Ordinal);
        environment["Sessions__Postgres__ConnectionString"] = database;
        // And the silo port: another process on this machine may hold 11111.
        environment["Sessions__Orleans__SiloPort"] = LocalPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var port = LocalPorts.Free();
        await using var node = new NodeProcess(["--Logging:LogLevel:Default", "Warning"], environment, port);
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };

        // The nodes connect as an ordinary role: row-level security holds (the server warns when it would not).
        Assert.DoesNotContain("bypasses row-level security", node.Log, StringComparison.Ordinal);
        // The init script's leakproof match: content search uses its GIN index (the server warns when it would not).
        Assert.DoesNotContain("Content search reads every message", node.Log, StringComparison.Ordinal);
        // The node's own health check, as Docker runs it in the container (the port is this node's).
        var check = HealthCheck(services, "node1");
        Assert.Equal("CMD", check[0]);
        var (healthy, said) = await NodeTools.RunAsync(check[1], RepoPaths.Root, null, [.. check[2..].Select(a => a.Replace("/8080", $"/{port}", StringComparison.Ordinal))]);
        Assert.True(healthy == 0, $"the compose health check failed on a ready node ({healthy}): {said}");

        // The compose nodes require API keys: the operator key creates a tenant and issues its key.
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", environment["Sessions__Auth__OperatorKey"]);
        using (var created = await http.PostAsync("v1/tenants", Calls.Json("{\"tenant\":\"acme\"}")))
        {
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        using var issued = await http.PostAsync("v1/tenants/acme/keys", Calls.Json("{\"scopes\":[\"read\",\"write\"]}"));
        var key = System.Text.Json.Nodes.JsonNode.Parse(await issued.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var append = await http.PostAsync("v1/projects/compose/sessions/s/entries", Calls.Json($"[{Calls.Entry("from-compose")}]"));
        Assert.True(append.IsSuccessStatusCode, await append.Content.ReadAsStringAsync());
        using var load = await http.GetAsync("v1/projects/compose/sessions/s/entries");
        Assert.Contains("from-compose", await load.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDockerImagesCommandLine_StartsWithTheOperatorKey_AndWithoutItSaysWhichVariableToSet()
    {
        // The image's ENV and ENTRYPOINT, run as a local process: only the data folder and the port change.
        var dockerfile = File.ReadAllLines(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var environment = dockerfile.Where(l => l.StartsWith("ENV ", StringComparison.Ordinal))
            .Select(l => l[4..].Split('=', 2)).ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
        environment["Sessions__DataDir"] = RepoPaths.TempDir("image-data");
        var entrypoint = System.Text.Json.JsonSerializer.Deserialize<string[]>(dockerfile.Single(l => l.StartsWith("ENTRYPOINT ", StringComparison.Ordinal))["ENTRYPOINT ".Length..])!;
        Assert.Equal(["dotnet", "Sessions.Cluster.Server.dll"], entrypoint[..2]);

        await using (var refused = new NodeProcess([.. ImageArguments(entrypoint, LocalPorts.Free())], environment))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(refused.StartAsync);
            Assert.Contains("Sessions__Auth__OperatorKey", error.Message, StringComparison.Ordinal);
        }

        environment["Sessions__Auth__OperatorKey"] = "image-test-operator-key-0123456789abcdef";
        var port = LocalPorts.Free();
        await using var node = new NodeProcess(ImageArguments(entrypoint, port), environment, port);
        await node.StartAsync();
        using var http = new HttpClient { BaseAddress = node.Url };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("health/ready")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("v1/projects")).StatusCode);
    }

    // The entrypoint's arguments after the dll, listening on all interfaces as the image does, on a free port.
    private static List<string> ImageArguments(string[] entrypoint, int port) =>
        entrypoint[2..].Select(a => a.StartsWith("http://0.0.0.0:", StringComparison.Ordinal) ? $"http://0.0.0.0:{port}" : a).ToList();

    // What compose makes of a value: ${NAME:-default} is the environment's NAME, else the default.
    private static string Compose(object value) => Regex.Replace((string)value, @"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}",
        m => Environment.GetEnvironmentVariable(m.Groups[1].Value) is { Length: > 0 } set ? set : m.Groups[2].Value);

    // A compose duration such as 40s or 1m30s.
    private static TimeSpan ComposeDuration(string value) =>
        Regex.Matches(value, @"(\d+)(h|m|s)").Aggregate(TimeSpan.Zero, (sum, m) => sum + int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) * (m.Groups[2].Value switch
        {
            "h" => TimeSpan.FromHours(1),
            "m" => TimeSpan.FromMinutes(1),
            _ => TimeSpan.FromSeconds(1),
        }));

    private static List<string> HealthCheck(Dictionary<object, object> services, string node) =>
        ((List<object>)((Dictionary<object, object>)((Dictionary<object, object>)services[node])["healthcheck"])["test"]).Cast<string>().ToList();

    private static Dictionary<object, object> LoadCompose() =>
        new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(File.ReadAllText(Path.Combine(RepoPaths.Root, "docker-compose.yml")));

    private static Dictionary<string, string> NodeEnvironment(Dictionary<object, object> services, string node) =>
        ((Dictionary<object, object>)((Dictionary<object, object>)services[node])["environment"]).ToDictionary(kv => (string)kv.Key, kv => (string)kv.Value);
}
