using System.Net;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The cluster's catalog written behind the grain (issue 25 §2): an append is acknowledged when its transcript is
/// durable and its row and sidecar follow, held back by the grain's silo. Here each silo holds rows back for ten
/// minutes, so only the readers' barrier can show them, and only the recovery of a dead silo's noted rows can repair them.
/// </summary>
[Trait("Category", "Cluster")]
[Collection(ProcessKillsCollection.Name)]
public sealed class CatalogWriteBehindTests(CatalogWriteBehindTests.HeldRows cluster) : IClassFixture<CatalogWriteBehindTests.HeldRows>
{
    private const int Sessions = 24;

    [Fact]
    public async Task HeldBackRows_AreListedAtOnceOnEveryNode_AndASilosHeldRowsAreRebuiltAfterItIsKilled()
    {
        var pk = "behind-" + Guid.NewGuid().ToString("N")[..8];
        var lengths = new Dictionary<string, long>();
        for (var s = 0; s < Sessions; s++)
        {
            var session = $"s{s:D2}";
            lengths[session] = await AppendAsync(s % cluster.NodeCount, pk, session, $"{session}-a");
            // Right after the acknowledgement, another node lists it with its size.
            var listed = await ListAsync((s + 1) % cluster.NodeCount, pk);
            Assert.Equal(lengths[session], listed[session]);
        }

        // A sidecar written through one node is read through another at once.
        using (var put = new HttpRequestMessage(HttpMethod.Put, $"v1/projects/{pk}/sessions/s00/summary") { Content = Calls.Json("{\"mtime\":1,\"data\":{\"customTitle\":\"held\"}}") })
        {
            put.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
            using var answer = await cluster.ClientFor(0).SendAsync(put);
            Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
        }

        var (_, summaries) = await Calls.SendAsync(cluster.ClientFor(1), HttpMethod.Get, $"v1/projects/{pk}/store/summaries");
        Assert.Equal("held", summaries![0]!["data"]!["customTitle"]!.GetValue<string>());

        // One session is deleted (its silo's note on it stays while the grain is active), the others grow once more;
        // nobody reads, so the grains' silos hold every row back. Then one silo dies with the rows it held.
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(cluster.ClientFor(1), HttpMethod.Delete, $"v1/projects/{pk}/sessions/s{Sessions - 1:D2}")).Status);
        lengths.Remove($"s{Sessions - 1:D2}");
        foreach (var session in lengths.Keys)
        {
            lengths[session] = await AppendAsync(0, pk, session, $"{session}-b");
        }

        // Every silo noted the rows it may hold back, and the recovery leaves live silos' notes alone.
        Assert.Equal(3, await cluster.CountAsync($"SELECT count(DISTINCT writer) FROM row_writers WHERE project_key = '{pk}'"));
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Equal(Sessions, await cluster.CountAsync($"SELECT count(*) FROM row_writers WHERE project_key = '{pk}'"));
        // The silo to kill is the one holding the most rows back (placement decides where the grains live; one holding
        // only the deleted session would leave nothing to recover). A writer is its silo's address
        // (127.0.0.1:<silo port>@<generation>).
        string WriterOf(int node)
        {
            var args = cluster.Nodes[node].Arguments.ToList();
            return $"writer LIKE '127.0.0.1:{args[args.IndexOf("--Sessions:Orleans:SiloPort") + 1]}@%'";
        }

        var held = new long[cluster.NodeCount];
        for (var node = 0; node < cluster.NodeCount; node++)
        {
            held[node] = await cluster.CountAsync($"SELECT count(*) FROM row_writers WHERE project_key = '{pk}' AND session_id <> 's{Sessions - 1:D2}' AND {WriterOf(node)}");
        }

        var victim = Array.IndexOf(held, held.Max());
        var (reader, other) = victim == 0 ? (1, 2) : (0, 3 - victim);
        var deadWriter = WriterOf(victim);
        Assert.True(held[victim] > 0, $"no silo holds a row back ({string.Join(", ", held)})");
        await cluster.Nodes[victim].KillAsync();

        var stale = (await ListAsync(reader, pk)).Count(l => lengths[l.Key] != l.Value);
        Assert.True(stale > 0, $"no row was held back by the killed silo {victim} (it noted {held[victim]}): the test did not exercise the recovery");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        Dictionary<string, long> now;
        while (true)
        {
            now = await ListAsync(reader, pk);
            if (now.Count == lengths.Count && lengths.All(l => now.GetValueOrDefault(l.Key) == l.Value)
                && await cluster.CountAsync($"SELECT count(*) FROM row_writers WHERE project_key = '{pk}' AND {deadWriter}") == 0
                || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500);
        }

        Assert.Equal(lengths.OrderBy(l => l.Key), now.OrderBy(l => l.Key));
        Assert.Equal(now, await ListAsync(other, pk));
        // The dead silo's notes are gone (the live silos' stay while their grains are active, and go when they leave).
        Assert.Equal(0, await cluster.CountAsync($"SELECT count(*) FROM row_writers WHERE project_key = '{pk}' AND {deadWriter}"));
    }


    private async Task<long> AppendAsync(int node, string pk, string session, string uuid)
    {
        var (status, body) = await Calls.SendAsync(cluster.ClientFor(node), HttpMethod.Post, $"v1/projects/{pk}/sessions/{session}/entries", $"[{Calls.Entry(uuid)}]");
        Assert.Equal(HttpStatusCode.OK, status);
        return body!["length"]!.GetValue<long>();
    }

    private async Task<Dictionary<string, long>> ListAsync(int node, string pk)
    {
        var (status, listing) = await Calls.SendAsync(cluster.ClientFor(node), HttpMethod.Get, $"v1/projects/{pk}/sessions");
        Assert.Equal(HttpStatusCode.OK, status);
        return ((JsonArray)listing!["sessions"]!).ToDictionary(n => n!["sessionId"]!.GetValue<string>(), n => n!["fileSize"]!.GetValue<long>());
    }

    /// <summary>Three nodes whose silos hold rows back for ten minutes and look for dead silos' rows every second.</summary>
    public sealed class HeldRows : ClusterFixture
    {
        public override IReadOnlyList<string> NodeArguments() =>
            [.. base.NodeArguments(), "--Sessions:Postgres:WriteBehindDelay", "00:10:00", "--Sessions:RowRecoveryPeriod", "00:00:01"];
    }
}
