using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>
/// Forks as sibling grains on a three-silo TestingHost cluster over Azurite and PostgreSQL, with a real Claude Code
/// transcript from ../shared/fixtures as the parent: the call answers once the fork's grain stored its seed, and the
/// transcript follows without anyone touching the fork; a seed left by a silo that died before writing is written on
/// the fork's first use; a parent's delete first finishes its unfinished forks; an ephemeral parent's fork is
/// ephemeral and reachable from every silo; and under fire (the parent appended to from every silo while forks are
/// taken at random messages and a silo is killed) every acknowledged fork equals the SDK's fork of the parent's bytes.
/// </summary>
[Trait("Category", "Cluster")]
public sealed partial class ForkGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private const string Tenant = "forks";
    private const string Project = "-home-marco-projects-spotter";
    private const string Source = "491e126e-1e71-469c-ade2-fcc8af567c74";

    [Fact]
    public async Task TheForkIsWrittenRightAfterTheCall_WithoutAnyoneTouchingIt()
    {
        var silos = fixture.Cluster.Silos;
        var (parent, lines) = await ImportAsync(silos[0]);
        var cut = MessageUuids(lines)[^3];
        var forkId = await Grain(silos[1], parent).Fork(cut, "taken");

        var store = Store(silos[2]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await fixture.QueriesOf(silos[2]).FindAsync(Tenant, forkId, CancellationToken.None) is { Count: 0 })
        {
            Assert.True(DateTime.UtcNow < deadline, "the fork was not written after its call");
            await Task.Delay(50);
        }

        Assert.NotNull(await store.StatAsync(Tenant, new SessionKey(Project, forkId), CancellationToken.None));
        Assert.Empty(await SeedsAsync(silos[0], parent, forkId));
        await NoLongerNotedAsync(silos[1], forkId);
        var expected = ExpectedFork(await ReadAsync(silos[0], parent), parent, cut, "taken", await ReadAsync(silos[0], forkId));
        Assert.Equal(expected, Normalize(await ReadAsync(silos[0], forkId)));
    }

    [Fact]
    public async Task ASeedLeftByASiloThatDiedBeforeWriting_IsWrittenOnTheForksFirstUse()
    {
        var silos = fixture.Cluster.Silos;
        var (parent, lines) = await ImportAsync(silos[0]);
        var length = (await Store(silos[0]).StatAsync(Tenant, new SessionKey(Project, parent), CancellationToken.None))!.Length;
        var forkId = Guid.NewGuid().ToString();
        var cut = MessageUuids(lines)[10];
        await StoreSeedAsync(silos[1], forkId, new ForkSeed(parent, length, cut, "left behind", null, 1_700_000_000_000));
        Assert.Null(await Store(silos[0]).StatAsync(Tenant, new SessionKey(Project, forkId), CancellationToken.None));
        // What a start's pass would find: the catalog's note, made by the parent before the seed.
        await Catalog(silos[1]).AddUnfinishedForkAsync(new UnfinishedFork(Tenant, Project, forkId, parent, 1_700_000_000_000), CancellationToken.None);
        Assert.Contains(await Catalog(silos[2]).ListUnfinishedForksAsync(Tenant, CancellationToken.None), f => f.ForkId == forkId && f.ParentSessionId == parent);

        var view = await Grain(silos[2], forkId).GetView(null, null);
        Assert.True(view.Length > 0);
        Assert.Equal("left behind", (await Grain(silos[0], forkId).GetInfo()).CustomTitle);
        Assert.Empty(await SeedsAsync(silos[0], parent, forkId));
        await NoLongerNotedAsync(silos[0], forkId);
        Assert.Equal(ExpectedFork(await ReadAsync(silos[0], parent), parent, cut, "left behind", await ReadAsync(silos[0], forkId)), Normalize(await ReadAsync(silos[0], forkId)));
    }

    [Fact]
    public async Task DeletingAParent_FirstFinishesItsUnfinishedForks()
    {
        var silos = fixture.Cluster.Silos;
        var (parent, lines) = await ImportAsync(silos[0]);
        var bytes = await ReadAsync(silos[0], parent);
        var forkId = Guid.NewGuid().ToString();
        var cut = MessageUuids(lines)[^1];
        await StoreSeedAsync(silos[1], forkId, new ForkSeed(parent, bytes.Length, cut, null, "parent title", 1_700_000_000_000));
        var note = new GrainState<UnfinishedForksState>(new UnfinishedForksState { ForkIds = [forkId] });
        await StorageOf(silos[1]).WriteStateAsync(UnfinishedForksState.StateName, Grain(silos[1], parent).GetGrainId(), note);

        Assert.True(await Grain(silos[2], parent).Delete(null, "test"));
        Assert.Null(await Store(silos[0]).StatAsync(Tenant, new SessionKey(Project, parent), CancellationToken.None));
        Assert.Equal("parent title (fork)", (await Grain(silos[0], forkId).GetInfo()).CustomTitle);
        Assert.Equal(ExpectedFork(bytes, parent, cut, null, await ReadAsync(silos[0], forkId), "parent title"), Normalize(await ReadAsync(silos[0], forkId)));
        Assert.Empty(await SeedsAsync(silos[0], parent, forkId));
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task DeletingAParent_WhoseForkCanNeverBeWritten_DeletesAtOnce_DropsAndAuditsTheFork()
    {
        // A seed that no write can ever follow (a corrupted record: a negative parent length), noted by its parent.
        var silos = fixture.Cluster.Silos;
        var (parent, _) = await ImportAsync(silos[0]);
        var forkId = Guid.NewGuid().ToString();
        await StoreSeedAsync(silos[1], forkId, new ForkSeed(parent, -1, null, "never", null, 1_700_000_000_000));
        var note = new GrainState<UnfinishedForksState>(new UnfinishedForksState { ForkIds = [forkId] });
        await StorageOf(silos[1]).WriteStateAsync(UnfinishedForksState.StateName, Grain(silos[1], parent).GetGrainId(), note);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        Assert.True(await Grain(silos[2], parent).Delete(null, "test").WaitAsync(timeout.Token));
        Assert.Null(await Store(silos[0]).StatAsync(Tenant, new SessionKey(Project, parent), CancellationToken.None));
        Assert.Null(await Store(silos[0]).StatAsync(Tenant, new SessionKey(Project, forkId), CancellationToken.None));
        Assert.Empty(await SeedsAsync(silos[0], parent, forkId));
        await Assert.ThrowsAsync<SessionFault>(() => Grain(silos[0], forkId).GetInfo());
        var audit = await fixture.Cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<ISessionCatalog>().ListAuditAsync(Tenant, 1000, CancellationToken.None);
        Assert.Contains(audit, a => a.SessionId == forkId && a.Reason == AuditReasons.ForkFailed && a.Node.Contains(parent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnEphemeralParentsFork_IsEphemeral_AndReachableFromEverySilo()
    {
        var silos = fixture.Cluster.Silos;
        var parent = Guid.NewGuid().ToString();
        var lines = SourceLines();
        await Grain(silos[0], parent).MarkEphemeral();
        await Grain(silos[0], parent).Append(new AppendCommand(null, lines.Select(l => new EntryMessage(l.Json, l.Uuid)).ToArray(), null, null, null));
        var forkId = await Grain(silos[1], parent).Fork(null, "scratch");

        var views = await Task.WhenAll(silos.Select(s => Grain(s, forkId).GetView(null, null)));
        Assert.All(views, v => Assert.True(v.Inline is { Length: > 0 } inline && inline.Span.SequenceEqual(views[0].Inline!.Value.Span)));
        Assert.Null(await Store(silos[0]).StatAsync(Tenant, new SessionKey(Project, forkId), CancellationToken.None));
        Assert.Equal("scratch", (await Grain(silos[2], forkId).GetInfo()).CustomTitle);
    }

    [Fact]
    public async Task UnderFire_EveryAcknowledgedForkEqualsTheSdksForkOfTheParent()
    {
        var cluster = fixture.Cluster;
        var extra = await cluster.StartAdditionalSiloAsync();
        await cluster.WaitForLivenessToStabilizeAsync();
        var silos = cluster.Silos.ToList();
        var parent = Guid.NewGuid().ToString();
        var lines = SourceLines();
        var batches = lines.Chunk(4).ToList();
        var acknowledged = new List<string>();
        var forks = new System.Collections.Concurrent.ConcurrentBag<(string Id, string Cut)>();
        var random = new Random(12);
        var killed = false;
        var running = new List<Task>();
        for (var i = 0; i < batches.Count; i++)
        {
            var command = new AppendCommand(null, batches[i].Select(l => new EntryMessage(l.Json, l.Uuid)).ToArray(), null, $"batch-{i}", null);
            await RetryAsync(() => Grain(Live(silos, i), parent).Append(command));
            acknowledged.AddRange(MessageUuids(batches[i]));
            if (acknowledged.Count == 0)
            {
                continue;
            }

            // Forks at random acknowledged messages, from every silo, racing the next appends.
            var taken = Enumerable.Range(0, 2).Select(_ => (Silo: Live(silos, random.Next(silos.Count)), Cut: acknowledged[random.Next(acknowledged.Count)])).ToList();
            running.AddRange(taken.Select(async t =>
            {
                try
                {
                    forks.Add((await Grain(t.Silo, parent).Fork(t.Cut, "fire " + t.Cut), t.Cut));
                }
                catch (Exception ex) when (ex is OrleansMessageRejectionException or TimeoutException or SiloUnavailableException)
                {
                    // Not acknowledged: the caller would retry; nothing is promised about it.
                }
            }));

            if (!killed && i == batches.Count / 2)
            {
                killed = true;
                _ = cluster.KillSiloAsync(extra);
                silos.Remove(extra);
            }
        }

        await Task.WhenAll(running);
        await cluster.WaitForLivenessToStabilizeAsync();
        var parentBytes = await ReadAsync(silos[0], parent);
        Assert.Equal(lines.Sum(l => l.Json.Length + 1), parentBytes.Length);
        Assert.True(forks.Count > batches.Count / 2, $"only {forks.Count} forks were acknowledged");
        foreach (var (id, cut) in forks)
        {
            await RetryAsync(() => Grain(silos[random.Next(silos.Count)], id).FinishFork());
            var fork = await ReadAsync(silos[0], id);
            Assert.Equal(ExpectedFork(parentBytes, parent, cut, "fire " + cut, fork), Normalize(fork));
        }
    }

    // The source transcript's lines, as an append receives them.
    private static List<TranscriptLine> SourceLines() =>
        File.ReadAllLines(Path.Combine(RepoPaths.ClaudeFixtures, "projects", Project, Source + ".jsonl"))
            .Where(l => l.Length > 0).Select(l => EntryParser.ParseLine(Encoding.UTF8.GetBytes(l), new EntryLimits())).ToList();

    // Imports the source transcript as a new session through one silo's grain.
    private async Task<(string Id, List<TranscriptLine> Lines)> ImportAsync(InProcessSiloHandle silo)
    {
        var id = Guid.NewGuid().ToString();
        var lines = SourceLines();
        await Grain(silo, id).Append(new AppendCommand(null, lines.Select(l => new EntryMessage(l.Json, l.Uuid)).ToArray(), null, null, null));
        return (id, lines);
    }

    // Uuids of the user and assistant messages (what a fork may be cut at).
    private static List<string> MessageUuids(IEnumerable<TranscriptLine> lines) =>
        lines.Select(l => JsonNode.Parse(l.Json.Span)!.AsObject())
            .Where(e => (string?)e["type"] is "user" or "assistant" && e["isSidechain"]?.GetValue<bool>() != true && e["uuid"] is not null)
            .Select(e => (string)e["uuid"]!).ToList();

    // The SDK's fork (Core's port of it, checked against the SDK by the parity tests) of the parent's bytes at a cut,
    // stamped with the fork's own time, with every uuid replaced by its order of first appearance.
    private static List<string> ExpectedFork(byte[] parentBytes, string parent, string cut, string? title, byte[] fork, string? parentTitle = null)
    {
        var stamp = DateTimeOffset.Parse((string)JsonNode.Parse(Encoding.UTF8.GetString(fork).Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture);
        var next = 0;
        var built = ForkBuilder.Build(TranscriptText.ParseObjects(parentBytes), parent, Guid.NewGuid().ToString(), cut, title, parentTitle, stamp, () => $"00000000-0000-4000-8000-{next++:D12}");
        return Normalize(Encoding.UTF8.GetBytes(string.Concat(built.Select(e => Encoding.UTF8.GetString(JsJson.Stringify(e)) + "\n"))));
    }

    // The lines with every uuid (fresh ids, the fork's session id) replaced by its order of first appearance.
    private static List<string> Normalize(byte[] transcript)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        return Encoding.UTF8.GetString(transcript).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Uuid().Replace(l, m => "#" + (seen.TryGetValue(m.Value, out var n) ? n : seen[m.Value] = seen.Count))).ToList();
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex Uuid();

    private ISessionCatalog Catalog(InProcessSiloHandle silo) => fixture.Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<ISessionCatalog>();

    // The catalog's note of the fork goes once its parent heard it is written (a one-way call: within seconds).
    private async Task NoLongerNotedAsync(InProcessSiloHandle silo, string forkId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Catalog(silo).ListUnfinishedForksAsync(Tenant, CancellationToken.None)).Any(f => f.ForkId == forkId))
        {
            Assert.True(DateTime.UtcNow < deadline, "the catalog still notes the written fork as unfinished");
            await Task.Delay(50);
        }
    }

    private async Task StoreSeedAsync(InProcessSiloHandle silo, string forkId, ForkSeed seed) =>
        await StorageOf(silo).WriteStateAsync(ForkSeedState.StateName, Grain(silo, forkId).GetGrainId(), new GrainState<ForkSeedState>(ForkSeedState.From(seed)));

    // The fork seeds and parent notes still stored for these sessions.
    private async Task<List<string>> SeedsAsync(InProcessSiloHandle silo, string parent, string fork)
    {
        var left = new List<string>();
        var seed = new GrainState<ForkSeedState>();
        await StorageOf(silo).ReadStateAsync(ForkSeedState.StateName, Grain(silo, fork).GetGrainId(), seed);
        var note = new GrainState<UnfinishedForksState>();
        await StorageOf(silo).ReadStateAsync(UnfinishedForksState.StateName, Grain(silo, parent).GetGrainId(), note);
        if (seed.RecordExists)
        {
            left.Add("seed");
        }

        if (note.RecordExists && note.State!.ForkIds.Contains(fork))
        {
            left.Add("note");
        }

        return left;
    }

    private async Task<byte[]> ReadAsync(InProcessSiloHandle silo, string sessionId)
    {
        await using var stream = await Store(silo).OpenReadAsync(Tenant, new SessionKey(Project, sessionId), 0, null, CancellationToken.None);
        Assert.NotNull(stream);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static InProcessSiloHandle Live(List<InProcessSiloHandle> silos, int i) => silos[i % silos.Count];

    private static async Task RetryAsync(Func<Task> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await call();
                return;
            }
            catch (Exception ex) when (attempt < 20 && ex is OrleansMessageRejectionException or TimeoutException or SiloUnavailableException)
            {
                await Task.Delay(500);
            }
        }
    }

    private ITranscriptStore Store(InProcessSiloHandle silo) => fixture.Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<ITranscriptStore>();

    private IGrainStorage StorageOf(InProcessSiloHandle silo) => GrainStorageHelpers.GetGrainStorage(typeof(SessionGrain), fixture.Cluster.GetSiloServiceProvider(silo.SiloAddress));

    private ISessionGrain Grain(InProcessSiloHandle silo, string id) =>
        fixture.FactoryOf(silo).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, id));
}
