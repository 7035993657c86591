using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// A node stops within its shutdown timeout whatever storage does (issue 22 §4): sent SIGTERM while PostgreSQL is
/// down, and while Azurite (blob and the membership table) is down, each node process exits within
/// <c>Sessions:ShutdownTimeout</c> (5 s here) and the watchdog's grace (2 s), and says what it could not finish.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class NodeShutdownTests(NodeShutdownTests.TwoNodes cluster) : IClassFixture<NodeShutdownTests.TwoNodes>
{
    private static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    [Trait("Category", "Cluster")]
    public async Task Sigterm_WithPostgresThenAzuriteDown_EachNodeExitsWithinItsShutdownTimeout()
    {
        Assert.Equal(System.Net.HttpStatusCode.OK, (await Calls.SendAsync(cluster.Http, HttpMethod.Post, "v1/projects/p/sessions/s1/entries", $"[{Calls.Entry("u1")}]")).Status);

        await cluster.Postgres.StopAsync();
        var withoutPostgres = await cluster.Nodes[1].TerminateAsync(TimeSpan.FromSeconds(60));
        Assert.True(withoutPostgres is { } a && a < ShutdownTimeout + TimeSpan.FromSeconds(6),
            $"the node stopped after {withoutPostgres?.TotalSeconds.ToString("F1") ?? "more than 60"} s with PostgreSQL down: {Tail(cluster.Nodes[1].Log)}");

        await cluster.Azurite.StopAsync();
        var withoutAzurite = await cluster.Nodes[0].TerminateAsync(TimeSpan.FromSeconds(60));
        Assert.True(withoutAzurite is { } b && b < ShutdownTimeout + TimeSpan.FromSeconds(6),
            $"the node stopped after {withoutAzurite?.TotalSeconds.ToString("F1") ?? "more than 60"} s with Azurite down: {Tail(cluster.Nodes[0].Log)}");
        Assert.Contains("The stop did not finish within 7 s", cluster.Nodes[0].Log, StringComparison.Ordinal);
    }

    private static string Tail(string log) => log.Length > 3000 ? log[^3000..] : log;

    /// <summary>Two cluster nodes with a 5 s shutdown timeout, on their own Azurite and PostgreSQL (the test stops them).</summary>
    public sealed class TwoNodes : ClusterFixture
    {
        public override int NodeCount => 2;

        public override IReadOnlyList<string> NodeArguments() => [.. base.NodeArguments(), "--Sessions:ShutdownTimeout", "00:00:05"];
    }
}
