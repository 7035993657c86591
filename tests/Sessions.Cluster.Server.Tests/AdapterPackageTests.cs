using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The TypeScript adapter installs as its README says, from a clone and without the npm registry having it:
/// <c>npm pack</c> (which compiles) and <c>npm install &lt;tarball&gt;</c> in a fresh project that then imports it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AdapterPackageTests
{
    [Fact]
    public async Task NpmPack_ShipsTheCompiledAdapter_AndAFreshProjectInstallsAndImportsIt()
    {
        var package = Path.Combine(RepoPaths.Root, "src", "claude-agent-sdk-store");
        await NodeTools.EnsureInstalledAsync(package, "node_modules/typescript/package.json");
        var packed = RepoPaths.TempDir("adapter-pack");
        var (packCode, packOut) = await NodeTools.RunAsync("npm", package, null, "pack", "--pack-destination", packed);
        Assert.True(packCode == 0, packOut);
        var tarball = Assert.Single(Directory.GetFiles(packed, "*.tgz"));

        var project = RepoPaths.TempDir("adapter-user");
        await File.WriteAllTextAsync(Path.Combine(project, "package.json"), """{ "name": "agent", "private": true, "type": "module" }""");
        var sdk = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(package, "package.json")))!["devDependencies"]!["@anthropic-ai/claude-agent-sdk"]!.GetValue<string>();
        var (installCode, installOut) = await NodeTools.RunAsync("npm", project, null, "install", "--no-audit", "--no-fund", "--prefer-offline", tarball, $"@anthropic-ai/claude-agent-sdk@{sdk}");
        Assert.True(installCode == 0, installOut);
        var (code, output) = await NodeTools.RunAsync("node", project, null, "--input-type=module", "-e",
            "import { ClusterSessionStore } from '@sessions-cluster/claude-agent-sdk-store'; console.log(typeof new ClusterSessionStore({ url: 'http://127.0.0.1:9' }).append);");
        Assert.True(code == 0, output);
        Assert.Equal("function", output.Trim());
    }
}
