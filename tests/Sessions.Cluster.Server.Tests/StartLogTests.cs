using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// A start prints a few lines a person reads (issue 22 §7: it was ~210 lines of Orleans option dumps and warnings, and
/// said "started" before the port was bound): the address, mode and data folder, once the server answers.
/// </summary>
[Trait("Category", "Integration")]
public sealed class StartLogTests
{
    [Fact]
    [Trait("Category", "Integration")]
    public async Task AnEmbeddedStart_SaysWhereItListensOnceTheServerAnswers_InAFewLines()
    {
        var data = RepoPaths.TempDir("start-log");
        await using var node = new NodeProcess(["--Sessions:DataDir", data], new Dictionary<string, string> { ["DOTNET_gcServer"] = "1" });
        await node.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(1));
        var lines = node.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"Sessions.Cluster listening on {node.Url.ToString().TrimEnd('/')}, embedded: transcripts and catalog under {data}", node.Log, StringComparison.Ordinal);
        Assert.True(lines.Length <= 6, $"the start printed {lines.Length} lines:\n{node.Log}");
    }
}
