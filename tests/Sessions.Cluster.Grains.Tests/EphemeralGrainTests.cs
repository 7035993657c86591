using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>
/// Ephemeral sessions on a three-silo TestingHost cluster: grains that never touch storage, reachable through every
/// silo while active, gone (404, as if never written) after <see cref="GrainClusterFixture.EphemeralIdle"/> (shortened
/// to two seconds here) without use, or with their silo.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class EphemeralGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private const string Tenant = "eph";
    private const string Project = "proj";

    [Fact]
    public async Task ReachableThroughEverySilo_NeverStored_AndGoneAfterIdle()
    {
        var id = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos;
        await Grain(silos[0], id).MarkEphemeral();
        await Grain(silos[1], id).Append(new AppendCommand(null, [Entry(id, "u1", "hello")], null, null, null));
        await Grain(silos[2], id).Append(new AppendCommand("subagents/agent-a", [Entry(id, "s1", "sub")], null, null, null));
        await Grain(silos[0], id).Rename("Scratch");

        // Every silo reaches the same bytes (inline in the view: nothing is in storage).
        var views = await Task.WhenAll(silos.Select(s => Grain(s, id).GetView(null, null)));
        Assert.All(views, v => Assert.Equal(views[0].Inline!.Value.ToArray(), v.Inline!.Value.ToArray()));
        Assert.Contains("\"u1\"", Encoding.UTF8.GetString(views[0].Inline!.Value.Span), StringComparison.Ordinal);
        Assert.Equal("Scratch", (await Grain(silos[2], id).GetInfo()).CustomTitle);
        Assert.NotNull((await Grain(silos[1], id).GetView("subagents/agent-a", null)).Inline);
        var store = fixture.Cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<ITranscriptStore>();
        Assert.Null(await store.StatAsync(Tenant, new SessionKey(Project, id), CancellationToken.None));
        Assert.Null(await fixture.Cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<ISessionCatalog>().GetAsync(Tenant, Project, id, CancellationToken.None));

        // Used again before the idle time runs out: still there.
        await Task.Delay(fixture.EphemeralIdle / 2);
        Assert.NotNull((await Grain(silos[1], id).GetView(null, null)).Length);

        // Left alone past the idle time: gone, on every silo, like a session never written.
        var grainId = Grain(silos[0], id).GetGrainId();
        var deadline = DateTime.UtcNow + fixture.EphemeralIdle + TimeSpan.FromSeconds(30);
        while (fixture.Cluster.TryGetGrainContext(grainId, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "the idle ephemeral grain was not deactivated");
            await Task.Delay(100);
        }

        foreach (var silo in silos)
        {
            Assert.Null((await Grain(silo, id).GetView(null, null)).Length);
            Assert.Null((await Grain(silo, id).GetView("subagents/agent-a", null)).Length);
            Assert.Equal("session_not_found", Assert.IsType<NotFoundException>((await Assert.ThrowsAsync<SessionFault>(() => Grain(silo, id).GetInfo())).ToException()).Code);
        }
    }

    [Fact]
    public async Task GoneWithItsSilo()
    {
        var cluster = fixture.Cluster;
        var extra = await cluster.StartAdditionalSiloAsync();
        await cluster.WaitForLivenessToStabilizeAsync();
        var id = Guid.NewGuid().ToString();
        var grain = Grain(extra, id);
        await grain.MarkEphemeral();
        await grain.Append(new AppendCommand(null, [Entry(id, "u1", "hello")], null, null, null));
        Assert.True(cluster.TryGetGrainContext(grain.GetGrainId(), out var context));
        var host = cluster.Silos.First(s => s.SiloAddress == context.Address.SiloAddress);
        var other = cluster.Silos.First(s => s != host);
        Assert.NotNull((await Grain(other, id).GetView(null, null)).Inline);

        await cluster.KillSiloAsync(host);
        await cluster.WaitForLivenessToStabilizeAsync();
        Assert.Null((await Grain(other, id).GetView(null, null)).Length);
        Assert.Equal("session_not_found", Assert.IsType<NotFoundException>((await Assert.ThrowsAsync<SessionFault>(() => Grain(other, id).GetInfo())).ToException()).Code);
    }

    private ISessionGrain Grain(Orleans.TestingHost.InProcessSiloHandle silo, string id) =>
        fixture.FactoryOf(silo).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, id));

    private static EntryMessage Entry(string sessionId, string uuid, string text)
    {
        var json = new JsonObject
        {
            ["type"] = "user",
            ["uuid"] = uuid,
            ["sessionId"] = sessionId,
            ["timestamp"] = "2026-11-28T10:00:00.000Z",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = text },
        };
        return new EntryMessage(Encoding.UTF8.GetBytes(json.ToJsonString()), uuid);
    }
}
