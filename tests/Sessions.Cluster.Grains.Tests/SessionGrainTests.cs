using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>The session grain on a three-silo TestingHost cluster: ordering, the fence, and rebuilding after a silo leaves.</summary>
[Trait("Category", "Cluster")]
public sealed class SessionGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private const string Tenant = "acme";
    private const string Project = "proj";

    [Fact]
    public async Task WritersOnEverySilo_AppendingToOneSessionAtOnce_EveryEntryOnceInEachWritersOrder_NoConflicts()
    {
        var sessionId = Guid.NewGuid().ToString();
        var key = SessionGrainKey.Format(Tenant, Project, sessionId);
        var silos = fixture.Cluster.Silos.ToList();
        Assert.Equal(3, silos.Count);
        const int writersPerSilo = 3;
        const int batches = 25;
        var faults = new ConcurrentBag<Exception>();
        var writers = Enumerable.Range(0, silos.Count * writersPerSilo).Select(async w =>
        {
            var grain = fixture.FactoryOf(silos[w % silos.Count]).GetGrain<ISessionGrain>(key);
            for (var b = 0; b < batches; b++)
            {
                // Batches of 1–3 entries, one of them (every fourth batch) without a uuid.
                var entries = Enumerable.Range(0, 1 + (b % 3)).Select(i => Entry(sessionId, $"w{w}-{b}-{i}")).ToList();
                if (b % 4 == 0)
                {
                    entries.Add(Entry(sessionId, null, $"w{w}-{b}-plain"));
                }

                try
                {
                    await grain.Append(new AppendCommand(null, [.. entries], null, null, null));
                }
                catch (Exception e)
                {
                    faults.Add(e);
                }
            }
        });
        await Task.WhenAll(writers);

        Assert.Empty(faults);
        var lines = await ReadLinesAsync(silos[0], sessionId);
        var markers = lines.Select(l => l["text"]!.GetValue<string>()).ToList();
        var expected = Enumerable.Range(0, silos.Count * writersPerSilo).Sum(_ => Enumerable.Range(0, batches).Sum(b => 1 + (b % 3) + (b % 4 == 0 ? 1 : 0)));
        Assert.Equal(expected, markers.Count);
        Assert.Equal(markers.Count, markers.Distinct().Count());
        for (var w = 0; w < silos.Count * writersPerSilo; w++)
        {
            var mine = markers.Where(m => m.StartsWith($"w{w}-", StringComparison.Ordinal)).ToList();
            var ordered = mine.OrderBy(m => int.Parse(m.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(ordered, mine);
        }
    }

    [Fact]
    public async Task AppendsQueuedBehindOneInFlight_GoOutTogetherInOneAppendBlock_EachAnsweredAsIfAlone()
    {
        var sessionId = Guid.NewGuid().ToString();
        var key = SessionGrainKey.Format(Tenant, Project, sessionId);
        var silos = fixture.Cluster.Silos.ToList();
        await fixture.FactoryOf(silos[0]).GetGrain<ISessionGrain>(key).Append(new AppendCommand(null, [Entry(sessionId, "first")], null, null, null));
        var blob = new Azure.Storage.Blobs.BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(fixture.BlobOptions.Container)
            .GetBlobClient(AzureBlobTranscriptStore.BlobName(Tenant, new SessionKey(Project, sessionId)));
        async Task<int> BlocksAsync() => (await blob.GetPropertiesAsync()).Value.BlobCommittedBlockCount;
        Assert.Equal(1, await BlocksAsync());

        // 24 hosts append at once (two entries each, an idempotency key each), and one renames the session meanwhile.
        var commands = Enumerable.Range(0, 24).Select(w => new AppendCommand(null, [Entry(sessionId, $"w{w}-a"), Entry(sessionId, $"w{w}-b")], null, $"key-{w}", null)).ToList();
        Task<AppendResult[]> SendAllAsync() => Task.WhenAll(commands.Select((c, w) => fixture.FactoryOf(silos[w % silos.Count]).GetGrain<ISessionGrain>(key).Append(c)));
        var sending = SendAllAsync();
        var renamed = fixture.FactoryOf(silos[1]).GetGrain<ISessionGrain>(key).Rename("Written together");
        var answers = await sending;
        await renamed;

        // Fewer blocks than writes: those queued behind a block in flight went out with the next one.
        var blocks = await BlocksAsync();
        Assert.True(blocks < 1 + 24 + 1, $"{blocks} blocks for the first append, 24 appends and a rename, written one by one");

        // Each answer is its own: two entries written, and its entries stand in the transcript right before its length.
        var bytes = await ReadBytesAsync(silos[2], sessionId);
        for (var w = 0; w < answers.Length; w++)
        {
            Assert.Equal((2, 0), (answers[w].Appended, answers[w].Duplicates));
            var own = Encoding.UTF8.GetString(bytes, (int)(answers[w].Length - answers[w].Bytes), (int)answers[w].Bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal([$"w{w}-a", $"w{w}-b"], own.Select(l => JsonNode.Parse(l)!["uuid"]!.GetValue<string>()));
        }

        var uuids = (await ReadLinesAsync(silos[0], sessionId)).Select(l => l["uuid"]?.GetValue<string>()).Where(u => u is not null).ToList();
        Assert.Equal(1 + (24 * 2), uuids.Count);
        Assert.Equal(uuids.Count, uuids.Distinct().Count());
        Assert.Equal("Written together", (await fixture.FactoryOf(silos[2]).GetGrain<ISessionGrain>(key).GetInfo()).CustomTitle);

        // The same calls again (a retry of each): each answered exactly as the first time, nothing written.
        Assert.Equal(answers, await SendAllAsync());
        // The same entries under new keys: all skipped as duplicates, nothing written.
        commands = [.. commands.Select(c => c with { IdempotencyKey = "again-" + c.IdempotencyKey })];
        Assert.All(await SendAllAsync(), a => Assert.Equal((0, 2), (a.Appended, a.Duplicates)));
        Assert.Equal(blocks, await BlocksAsync());
    }

    [Fact]
    public async Task ARealTranscript_AppendedByTwelveHostsAtOnce_IsStoredWhole_EachHostsEntriesInItsOrder()
    {
        // The 3 MB Claude Code transcript from ../shared/fixtures, dealt to 12 hosts in turn; each appends its share in
        // batches of four (an idempotency key each) while the others do, so appends queue and go out together.
        var file = Path.Combine(RepoPaths.ClaudeFixtures, "projects", "-home-USER-projects-spotter-worktrees-spotter-dov", "4d5611e5-241a-462a-8d15-5122611a9569.jsonl");
        var all = File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => EntryParser.ParseLine(Encoding.UTF8.GetBytes(l), new EntryLimits())).ToList();
        var repeated = all.Where(l => l.Uuid is not null).GroupBy(l => l.Uuid).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var lines = all.Where(l => l.Uuid is null || !repeated.Contains(l.Uuid)).ToList();
        var sessionId = Guid.NewGuid().ToString();
        var key = SessionGrainKey.Format(Tenant, Project, sessionId);
        var silos = fixture.Cluster.Silos.ToList();
        const int hosts = 12;
        var shares = Enumerable.Range(0, hosts).Select(h => lines.Where((_, i) => i % hosts == h).ToList()).ToList();
        await Task.WhenAll(shares.Select(async (share, h) =>
        {
            var grain = fixture.FactoryOf(silos[h % silos.Count]).GetGrain<ISessionGrain>(key);
            foreach (var (batch, b) in share.Chunk(4).Select((batch, b) => (batch, b)))
            {
                var answer = await grain.Append(new AppendCommand(null, [.. batch.Select(l => new EntryMessage(l.Json, l.Uuid))], null, $"{h}-{b}", null));
                Assert.Equal((batch.Length, 0), (answer.Appended, answer.Duplicates));
            }
        }));

        // Every line stored once, byte for byte, and each host's lines in the order it sent them.
        var stored = Encoding.UTF8.GetString(await ReadBytesAsync(silos[1], sessionId)).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        Assert.Equal(lines.Select(l => Encoding.UTF8.GetString(l.Json.Span)).Order(StringComparer.Ordinal), stored.Order(StringComparer.Ordinal));
        foreach (var share in shares)
        {
            var mine = share.Select(l => Encoding.UTF8.GetString(l.Json.Span)).ToHashSet();
            Assert.Equal(share.Select(l => Encoding.UTF8.GetString(l.Json.Span)), stored.Where(mine.Contains));
        }
    }

    [Fact]
    public async Task StaleExpectedLength_IsStillAConflict_CarryingBothLengths()
    {
        var sessionId = Guid.NewGuid().ToString();
        var grain = fixture.FactoryOf(fixture.Cluster.Silos[1]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        var first = await grain.Append(new AppendCommand(null, [Entry(sessionId, "a")], 0, null, null));
        await grain.Append(new AppendCommand(null, [Entry(sessionId, "b")], first.Length, null, null));

        var fault = await Assert.ThrowsAsync<SessionFault>(() => grain.Append(new AppendCommand(null, [Entry(sessionId, "c")], first.Length, null, null)));
        var conflict = Assert.IsType<ConflictException>(fault.ToException());
        Assert.Equal("append_position_conflict", conflict.Code);
        Assert.Equal(first.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), conflict.Expected);
        Assert.Equal(2, (await ReadLinesAsync(fixture.Cluster.Silos[0], sessionId)).Count);
    }

    [Fact]
    public async Task ASecondWriterWithStaleState_AsADuplicateActivationOnAnotherSilo_CannotInterleaveOrDuplicate()
    {
        var sessionId = Guid.NewGuid().ToString();
        var grain = fixture.FactoryOf(fixture.Cluster.Silos[0]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        await grain.Append(new AppendCommand(null, [Entry(sessionId, "g1")], null, null, null));

        // A duplicate activation holds its own handle on the log: it learned the log at g1, then the grain wrote on.
        var key = new SessionKey(Project, sessionId);
        var duplicate = new AzureBlobTranscriptStore(fixture.BlobOptions, TimeProvider.System).Open(Tenant, key);
        var stale = (await duplicate.AppendAsync([Line(Entry(sessionId, "g1"))], null, CancellationToken.None)).Length;
        await grain.Append(new AppendCommand(null, [Entry(sessionId, "g2"), Entry(sessionId, "g3")], null, null, null));

        // Its fenced write (at the length it knew) is refused by storage; it re-reads, drops what is stored, appends the rest.
        var result = await duplicate.AppendAsync([Line(Entry(sessionId, "g3")), Line(Entry(sessionId, "d1"))], null, CancellationToken.None);
        Assert.Equal(1, result.Appended);
        Assert.Equal(1, result.Duplicates);
        await Assert.ThrowsAsync<ConflictException>(() => duplicate.AppendAsync([Line(Entry(sessionId, "d2"))], stale, CancellationToken.None));

        // The grain answers reads from what its handle holds (no storage call), so until its next append a reader sees a
        // committed prefix; that append's fence finds the duplicate's line, and nothing is lost or written twice.
        var before = (await ReadLinesAsync(fixture.Cluster.Silos[2], sessionId)).Select(l => l["text"]!.GetValue<string>()).ToList();
        Assert.Equal(["g1", "g2", "g3"], before);
        await grain.Append(new AppendCommand(null, [Entry(sessionId, "d1"), Entry(sessionId, "g4")], null, null, null));
        var markers = (await ReadLinesAsync(fixture.Cluster.Silos[2], sessionId)).Select(l => l["text"]!.GetValue<string>()).ToList();
        Assert.Equal(["g1", "g2", "g3", "d1", "g4"], markers);
    }

    [Fact]
    public async Task AfterItsSiloIsRemoved_TheGrainRebuildsOnAnotherSilo_AndAnswersIdentically()
    {
        var cluster = fixture.Cluster;
        var extra = await cluster.StartAdditionalSiloAsync();
        await cluster.WaitForLivenessToStabilizeAsync();
        var sessionId = Guid.NewGuid().ToString();
        var grain = fixture.FactoryOf(extra).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        await grain.Append(new AppendCommand(null, [Entry(sessionId, "u1", "hello there"), Entry(sessionId, "u2")], null, null, null));
        await grain.Rename("A title");
        await grain.Tag("blue");
        await grain.Append(new AppendCommand("subagents/agent-x", [Entry(sessionId, "s1")], null, null, null));
        var info = (await grain.GetInfo());
        var view = await grain.GetView(null, null);
        var subView = await grain.GetView("subagents/agent-x", null);
        Assert.True(cluster.TryGetGrainContext(grain.GetGrainId(), out var context), "the grain is active somewhere");
        var host = context.Address.SiloAddress;

        await cluster.StopSiloAsync(cluster.Silos.First(s => s.SiloAddress == host));
        var other = fixture.FactoryOf(cluster.Silos.First(s => s.SiloAddress != host)).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));

        Assert.Equal(info, (await other.GetInfo()));
        Assert.Equal(view.Length, (await other.GetView(null, null)).Length);
        Assert.Equal(subView.Length, (await other.GetView("subagents/agent-x", null)).Length);
        Assert.True(cluster.TryGetGrainContext(grain.GetGrainId(), out var rebuilt));
        Assert.NotEqual(host, rebuilt.Address.SiloAddress);

        // It goes on writing where the first activation stopped, deduplicating against what that one wrote.
        var next = await other.Append(new AppendCommand(null, [Entry(sessionId, "u2"), Entry(sessionId, "u3")], null, null, null));
        Assert.Equal(1, next.Appended);
        Assert.Equal(1, next.Duplicates);
        Assert.Equal("A title", (await other.GetInfo()).CustomTitle);
    }

    [Fact]
    public async Task AfterItsActivationIsCollected_EveryAnswerIsTheSameFromEverySilo_AndItsLogsAreLearntAgain()
    {
        var sessionId = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos;
        ISessionGrain Grain(int silo) => fixture.FactoryOf(silos[silo % silos.Count]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        await Grain(0).Append(new AppendCommand(null, [Entry(sessionId, "u1", "hello there"), Entry(sessionId, "u2")], null, "key-1", null));
        await Grain(1).Rename("A title");
        await Grain(2).Append(new AppendCommand("subagents/agent-x", [Entry(sessionId, "s1")], null, null, null));

        async Task<string> AnswersFrom(int silo)
        {
            var grain = Grain(silo);
            var info = (await grain.GetInfo());
            var messages = Encoding.UTF8.GetString((await grain.GetMessages(null, false, 0, null)).Utf8);
            var subagent = Encoding.UTF8.GetString((await grain.GetSubagentMessages("x", 0, null)).Utf8);
            var context = Encoding.UTF8.GetString((await grain.GetContext(null)).Utf8);
            return string.Join("\n", info.CustomTitle, info.FirstPrompt, info.Size, info.Mtime, (await grain.GetView(null, null)).Length,
                (await grain.GetView("subagents/agent-x", null)).Length, string.Join(",", await grain.ListSubkeys()), messages, subagent, context);
        }

        var before = await AnswersFrom(0);
        Assert.Equal(before, await AnswersFrom(1));
        Assert.Equal(before, await AnswersFrom(2));

        // Orleans' activation collection is the only eviction: collect it, then ask again from every silo.
        Assert.True(fixture.Cluster.TryGetGrainContext(Grain(0).GetGrainId(), out _));
        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.False(fixture.Cluster.TryGetGrainContext(Grain(0).GetGrainId(), out _), "the activation was collected");
        for (var silo = 0; silo < silos.Count; silo++)
        {
            Assert.Equal(before, await AnswersFrom(silo));
        }

        // The new activation learnt its logs from storage: a replayed batch is deduplicated by uuid. (The idempotency
        // key's answer went with the old activation, so the replay is recognized by its uuids, not by its key.)
        var replay = await Grain(1).Append(new AppendCommand(null, [Entry(sessionId, "u1", "hello there"), Entry(sessionId, "u2")], null, "key-1", null));
        Assert.Equal((0, 2), (replay.Appended, replay.Duplicates));
        var next = await Grain(2).Append(new AppendCommand(null, [Entry(sessionId, "u3")], null, null, null));
        Assert.Equal(1, next.Appended);
        Assert.Equal("A title", (await Grain(0).GetInfo()).CustomTitle);
    }

    [Fact]
    public async Task AKeyedBatchWithoutUuids_RetriedAfterItsActivationIsGone_IsNotWrittenTwice_ANewKeyWithTheSameLinesIs()
    {
        // No uuid places such a batch in the log, so its key is recorded before its bytes are written (the answer kept
        // in the activation's memory goes with it, as it does when its silo dies).
        var sessionId = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos;
        ISessionGrain Grain(int silo) => fixture.FactoryOf(silos[silo % silos.Count]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        EntryMessage[] Tags() => [Entry(sessionId, null, "tag one"), Entry(sessionId, null, "tag two")];
        await Grain(0).Append(new AppendCommand(null, [Entry(sessionId, "u1")], null, null, null));
        var first = await Grain(0).Append(new AppendCommand(null, Tags(), null, "tags-1", null));
        var sub = await Grain(0).Append(new AppendCommand("subagents/agent-x", Tags(), null, "tags-1", null));
        Assert.Equal((2, 2), (first.Appended, sub.Appended));
        // Another writer's line lands after the batch before the retry comes.
        await Grain(1).Append(new AppendCommand(null, [Entry(sessionId, "u2")], null, null, null));

        await fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        Assert.False(fixture.Cluster.TryGetGrainContext(Grain(0).GetGrainId(), out _), "the activation was collected");

        var retry = await Grain(2).Append(new AppendCommand(null, Tags(), null, "tags-1", null));
        var subRetry = await Grain(1).Append(new AppendCommand("subagents/agent-x", Tags(), null, "tags-1", null));
        Assert.Equal((0, 2), (retry.Appended, retry.Duplicates));
        Assert.Equal((0, 2), (subRetry.Appended, subRetry.Duplicates));
        // Content seen before never counts: the same lines under a new key are a new batch.
        var again = await Grain(1).Append(new AppendCommand(null, Tags(), null, "tags-2", null));
        Assert.Equal(2, again.Appended);

        var store = fixture.Cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<ITranscriptStore>();
        await using var stream = await store.OpenReadAsync(Tenant, new SessionKey(Project, sessionId), 0, null, CancellationToken.None);
        var main = await new StreamReader(stream!).ReadToEndAsync();
        Assert.Equal(["u1", "tag one", "tag two", "u2", "tag one", "tag two"], main.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!["text"]!.GetValue<string>()));
        Assert.Equal((await Grain(0).GetView("subagents/agent-x", null)).Length, sub.Length);
    }

    [Fact]
    public async Task ErrorsCrossSilos_WithTheirCodes()
    {
        var grain = fixture.FactoryOf(fixture.Cluster.Silos[2]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, Guid.NewGuid().ToString()));
        var missing = Assert.IsType<NotFoundException>((await Assert.ThrowsAsync<SessionFault>(() => grain.GetInfo())).ToException());
        Assert.Equal("session_not_found", missing.Code);
        var badTitle = Assert.IsType<InvalidRequestException>((await Assert.ThrowsAsync<SessionFault>(() => grain.Rename("  "))).ToException());
        Assert.Equal("invalid_title", badTitle.Code);
        var badKey = Assert.IsType<InvalidKeyException>((await Assert.ThrowsAsync<SessionFault>(() => grain.GetView("../escape", null))).ToException());
        Assert.Equal("subpath", badKey.Part);
    }

    private static EntryMessage Entry(string sessionId, string? uuid, string? text = null)
    {
        var json = new JsonObject
        {
            ["type"] = "user",
            ["uuid"] = uuid,
            ["sessionId"] = sessionId,
            ["timestamp"] = "2026-11-28T10:00:00.000Z",
            ["text"] = text ?? uuid,
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = text ?? uuid },
        };
        if (uuid is null)
        {
            json.Remove("uuid");
        }

        return new EntryMessage(Encoding.UTF8.GetBytes(json.ToJsonString()), uuid);
    }

    private static TranscriptLine Line(EntryMessage entry) => entry.ToLine();

    private async Task<byte[]> ReadBytesAsync(Orleans.TestingHost.InProcessSiloHandle silo, string sessionId)
    {
        var grain = fixture.FactoryOf(silo).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        var opened = await fixture.SessionsOf(silo).OpenTranscriptAsync(Tenant, new SessionKey(Project, sessionId), CancellationToken.None, async (key, _) => (await grain.GetView(key.Subpath, null)).ToLogView());
        await using var stream = opened!.Value.Content;
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private async Task<List<JsonObject>> ReadLinesAsync(Orleans.TestingHost.InProcessSiloHandle silo, string sessionId)
    {
        var grain = fixture.FactoryOf(silo).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        var opened = await fixture.SessionsOf(silo).OpenTranscriptAsync(Tenant, new SessionKey(Project, sessionId), CancellationToken.None, async (key, _) => (await grain.GetView(key.Subpath, null)).ToLogView());
        await using var stream = opened!.Value.Content;
        using var reader = new StreamReader(stream);
        var text = await reader.ReadToEndAsync();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
    }
}
