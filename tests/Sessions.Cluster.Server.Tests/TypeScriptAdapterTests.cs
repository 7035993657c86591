using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Builds the TypeScript SessionStore adapter (src/claude-agent-sdk-store) with tsc and runs its node:test suites
/// against a live server: the SDK-documented SessionStore contracts, parity with the SDK's InMemorySessionStore on
/// every fixture session, idempotent replays and concurrent adapters.
/// </summary>
public abstract class TypeScriptAdapterTests<TServer>(TServer server)
    where TServer : ITestServer
{
    private static string PackageDir => Path.Combine(RepoPaths.Root, "src", "claude-agent-sdk-store");

    [Fact]
    public async Task NodeTestSuites_AgainstALiveServer_AllPass()
    {
        await NodeTools.EnsureInstalledAsync(PackageDir, "node_modules/typescript/package.json");
        var (buildCode, buildOutput) = await NodeTools.RunAsync("npm", PackageDir, null, "run", "build");
        Assert.True(buildCode == 0, $"tsc failed:\n{buildOutput}");

        var environment = new Dictionary<string, string>
        {
            ["SESSIONS_URL"] = server.BaseUrl.ToString().TrimEnd('/'),
            ["CLAUDE_CONFIG_DIR"] = RepoPaths.CopyFixtures(),
        };
        var (code, output) = await NodeTools.RunAsync("node", PackageDir, environment, "--test", "--test-concurrency=1", "--test-reporter=spec", "test/");
        Assert.True(code == 0, $"node --test failed:\n{output}");
        Assert.Contains("ℹ fail 0", output, StringComparison.Ordinal);
        Assert.DoesNotContain("ℹ pass 0", output, StringComparison.Ordinal);
    }
}

/// <summary>The adapter's suites against the embedded deployment.</summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedTypeScriptAdapterTests(ServerFixture server) : TypeScriptAdapterTests<ServerFixture>(server), IClassFixture<ServerFixture>;

/// <summary>The adapter's suites against the three-node cluster (Azure Blob transcripts, PostgreSQL catalog).</summary>
[Trait("Category", "Cluster")]
[Collection(SharedClusterCollection.Name)]
public sealed class ClusterTypeScriptAdapterTests(ClusterFixture server) : TypeScriptAdapterTests<ClusterFixture>(server);
