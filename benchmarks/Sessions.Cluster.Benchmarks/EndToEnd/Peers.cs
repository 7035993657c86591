using System.Text.Json.Nodes;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>Runs benchmarks/peers/peers.mjs (pinned npm packages, installed with npm ci on first use).</summary>
internal static class Peers
{
    private static string Dir => Path.Combine(RepoPaths.Root, "benchmarks", "peers");

    public static async Task<JsonObject> RunAsync(IDictionary<string, string>? environment, params string[] args)
    {
        await NodeTools.EnsureInstalledAsync(Dir, "node_modules/@azure/storage-blob/package.json").ConfigureAwait(false);
        var (code, stdout, stderr) = await NodeTools.RunSplitAsync("node", Dir, environment, ["peers.mjs", .. args]).ConfigureAwait(false);
        return code == 0 ? (JsonObject)JsonNode.Parse(stdout)! : throw new InvalidOperationException($"peer {args[0]} failed: {stderr}");
    }

    public static List<double> Numbers(JsonObject result, string name) => result[name]!.AsArray().Select(n => n!.GetValue<double>()).ToList();
}
