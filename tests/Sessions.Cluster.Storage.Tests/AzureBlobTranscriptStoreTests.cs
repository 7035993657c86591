using System.Text;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.AzureBlob;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>A real Azurite for one test class.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await AzuriteServer.StartNewAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The transcript store conformance suite on append blobs in a real Azurite, plus what only blobs have.</summary>
[Trait("Category", "Integration")]
public sealed class AzureBlobTranscriptStoreTests : TranscriptStoreConformance, IClassFixture<AzuriteFixture>
{
    private readonly AzureBlobOptions _options;
    private readonly AzureBlobTranscriptStore _store;

    public AzureBlobTranscriptStoreTests(AzuriteFixture azurite)
    {
        _options = new AzureBlobOptions { ConnectionString = azurite.Server.ConnectionString, Container = "c" + Guid.NewGuid().ToString("N")[..20] };
        _store = new AzureBlobTranscriptStore(_options, Clock);
    }

    protected override ITranscriptStore Store => _store;

    // A store over the same container whose segments hold three blocks, so a few appends roll over.
    private AzureBlobTranscriptStore SegmentedStore() => new(new AzureBlobOptions { ConnectionString = _options.ConnectionString, Container = _options.Container, MaxBlocksPerSegment = 3 }, Clock);

    [Fact]
    public async Task Append_PastTheBlockLimit_RollsOverToSegments_ReadersSeeOneLog()
    {
        var store = SegmentedStore();
        var key = new SessionKey("p", "rolling");
        for (var i = 0; i < 10; i++)
        {
            await store.AppendAsync(Tenant, key, [Line($"r{i:D2}")], null, CancellationToken.None);
        }

        var expected = string.Concat(Enumerable.Range(0, 10).Select(i => $"{{\"type\":\"t\",\"uuid\":\"r{i:D2}\",\"b\":\"x\"}}\n"));
        await using (var stream = await store.OpenReadAsync(Tenant, key, 0, null, CancellationToken.None))
        {
            Assert.Equal(expected, await new StreamReader(stream!).ReadToEndAsync());
        }

        Assert.Equal(Encoding.UTF8.GetByteCount(expected), (await store.StatAsync(Tenant, key, CancellationToken.None))!.Length);

        // A node that never saw the log finds every segment, and dedupes across them.
        var other = SegmentedStore();
        Assert.Equal(0, (await other.AppendAsync(Tenant, key, [Line("r01")], null, CancellationToken.None)).Appended);
        await using var middle = await other.OpenReadAsync(Tenant, key, 40, 100, CancellationToken.None);
        Assert.Equal(expected.Substring(40, 100), await new StreamReader(middle!).ReadToEndAsync());
        Assert.Empty(await other.ListSubpathsAsync(Tenant, "p", "rolling", CancellationToken.None));
        Assert.True(await other.DeleteAsync(Tenant, key, CancellationToken.None));
        Assert.Null(await store.StatAsync(Tenant, key, CancellationToken.None));
    }

    [Fact]
    public async Task BatchesWrittenTogether_AreOneBlock_EachAnsweredAsIfAppendedAlone()
    {
        var key = new SessionKey("p", "together");
        var log = _store.Open(Tenant, key);
        Assert.True(log.WritesBatchesTogether);
        await log.AppendAsync([Line("a0")], null, CancellationToken.None);
        var stored = (await log.StatAsync(CancellationToken.None))!;

        // The second batch repeats an entry of the first and one stored before: they are skipped in it, as alone.
        var each = await log.AppendBatchesAsync([[Line("b0"), Line("b1")], [Line("b1"), Line("a0"), Line("c0")], [Line("d0", "longer body")]], CancellationToken.None);
        static long Size(TranscriptLine line) => line.Json.Length + 1;
        var (b, c, d) = (Size(Line("b0")) + Size(Line("b1")), Size(Line("c0")), Size(Line("d0", "longer body")));
        var end = stored.Length + b + c + d;
        Assert.Equal(
            [(2, 0, stored.Length + b, b, false), (1, 2, stored.Length + b + c, c, false), (1, 0, end, d, false)],
            each.Select(r => (r.Appended, r.Duplicates, r.Length, r.Bytes, r.Created)));
        Assert.Equal(stored.Mtime, each[0].PreviousMtime);
        Assert.All(each, r => Assert.Equal(each[0].Mtime, r.Mtime));
        var blob = new Azure.Storage.Blobs.BlobServiceClient(_options.ConnectionString).GetBlobContainerClient(_options.Container).GetBlobClient(AzureBlobTranscriptStore.BlobName(Tenant, key));
        Assert.Equal(2, (await blob.GetPropertiesAsync()).Value.BlobCommittedBlockCount);
        await using (var stream = await _store.OpenReadAsync(Tenant, key, 0, null, CancellationToken.None))
        {
            var uuids = (await new StreamReader(stream!).ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!["uuid"]!.GetValue<string>());
            Assert.Equal(["a0", "b0", "b1", "c0", "d0"], uuids);
        }

        // All or nothing: an entry too large for a block refuses every batch before anything is written; an entry
        // without a uuid, or an empty batch, is not for writing together.
        var huge = new TranscriptLine(Encoding.UTF8.GetBytes($"{{\"uuid\":\"h\",\"b\":\"{new string('x', AzureBlobOptions.MaxBlockBytes)}\"}}"), "h");
        await Assert.ThrowsAsync<Sessions.Cluster.Core.LimitExceededException>(() => log.AppendBatchesAsync([[Line("e0")], [huge]], CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => log.AppendBatchesAsync([[Line("e0")], [Line(null)]], CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => log.AppendBatchesAsync([[Line("e0")], []], CancellationToken.None));
        Assert.Equal(end, (await log.StatAsync(CancellationToken.None))!.Length);
        Assert.Equal(2, (await blob.GetPropertiesAsync()).Value.BlobCommittedBlockCount);
    }

    [Fact]
    public async Task ALogMadeAgainAfterItsDelete_HoldsOnlyItsNewEntries_WhoeverCreatesIt()
    {
        // The handle that creates a log knows it empty without reading it; a segmented log deleted and made again
        // (by a handle that never saw it, then written by one that did) holds only the new entries, each once.
        var store = SegmentedStore();
        var key = new SessionKey("p", "again");
        for (var i = 0; i < 7; i++)
        {
            await store.AppendAsync(Tenant, key, [Line($"old{i}")], null, CancellationToken.None);
        }

        Assert.True(await store.DeleteAsync(Tenant, key, CancellationToken.None));
        var fresh = SegmentedStore();
        var created = await fresh.AppendAsync(Tenant, key, [Line("new0"), Line("new1")], expectedLength: 0, CancellationToken.None);
        Assert.True(created.Created);
        Assert.Equal((2, 0), (created.Appended, created.Duplicates));
        var next = await store.AppendAsync(Tenant, key, [Line("new1"), Line("new2")], null, CancellationToken.None);
        Assert.Equal((1, 1, false), (next.Appended, next.Duplicates, next.Created));
        Assert.Equal(3 * Encoding.UTF8.GetByteCount($"{{\"type\":\"t\",\"uuid\":\"new0\",\"b\":\"x\"}}\n"), next.Length);
        await using var stream = await fresh.OpenReadAsync(Tenant, key, 0, null, CancellationToken.None);
        Assert.Equal(string.Concat(new[] { "new0", "new1", "new2" }.Select(u => $"{{\"type\":\"t\",\"uuid\":\"{u}\",\"b\":\"x\"}}\n")), await new StreamReader(stream!).ReadToEndAsync());
    }

    [Fact]
    public async Task DeleteIfUnchanged_OfASegmentedLogWithSubpaths_LeavesNoBlobOfTheSession()
    {
        var store = SegmentedStore();
        var key = new SessionKey("p", "segmented");
        for (var i = 0; i < 8; i++)
        {
            await store.AppendAsync(Tenant, key, [Line($"s{i}")], null, CancellationToken.None);
        }

        await store.AppendAsync(Tenant, key with { Subpath = "subagents/agent-1" }, [Line("a1")], null, CancellationToken.None);
        await store.AppendAsync(Tenant, new SessionKey("p", "segmented-neighbour"), [Line("n1")], null, CancellationToken.None);
        var container = new Azure.Storage.Blobs.BlobContainerClient(_options.ConnectionString, _options.Container);
        async Task<List<string>> Blobs(string prefix)
        {
            var names = new List<string>();
            await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, prefix, CancellationToken.None))
            {
                names.Add(blob.Name);
            }

            return names;
        }

        Assert.Equal(4, (await Blobs($"{Tenant}/p/segmented")).Count(n => !n.Contains("neighbour", StringComparison.Ordinal))); // 3 segments, 1 subpath
        var length = (await store.StatAsync(Tenant, key, CancellationToken.None))!.Length;
        Assert.Equal(ConditionalDelete.Deleted, await store.DeleteIfUnchangedAsync(Tenant, key, length, CancellationToken.None));
        Assert.Equal([$"{Tenant}/p/segmented-neighbour.jsonl"], await Blobs($"{Tenant}/p/segmented"));
        Assert.Null(await store.StatAsync(Tenant, key, CancellationToken.None));
    }

    [Fact]
    public async Task Append_AfterAnotherNodeWrote_ResolvesThe412_AndKeepsBothWritersEntriesOnce()
    {
        var nodeB = new AzureBlobTranscriptStore(_options, Clock);
        var key = new SessionKey("p", "two-nodes");
        await _store.AppendAsync(Tenant, key, [Line("a1")], null, CancellationToken.None);
        await nodeB.AppendAsync(Tenant, key, [Line("b1"), Line("a1")], null, CancellationToken.None);
        var result = await _store.AppendAsync(Tenant, key, [Line("b1"), Line("a2")], null, CancellationToken.None);
        Assert.Equal(1, result.Appended);
        var text = await ReadAllAsync(key);
        Assert.Equal(["a1", "b1", "a2"], text!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("\"uuid\":\"")[1][..2]));
    }

    [Fact]
    public async Task Append_ConcurrentWritersOfOneBlob_EachWithItsOwnHandle_LoseAndDuplicateNothing()
    {
        // Eight writers as eight nodes would be (a duplicate activation during a membership change): only the append
        // position orders them.
        var key = new SessionKey("p", "race");
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var log = _store.Open(Tenant, key);
            for (var i = 0; i < 20; i++)
            {
                await log.AppendAsync([Line($"w{w}-{i:D3}"), Line($"w{w}-{i:D3}")], null, CancellationToken.None);
            }
        })));
        var lines = (await ReadAllAsync(key))!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(160, lines.Length);
        Assert.Equal(160, lines.Distinct().Count());
    }

    [Fact]
    public async Task Append_WhenOurEarlierBlockLandedButTheAnswerWasLost_DoesNotWriteItTwice()
    {
        var key = new SessionKey("p", "lost-answer");
        var log = _store.Open(Tenant, key);
        var length = (await log.AppendAsync([Line("x0")], null, CancellationToken.None)).Length;

        // Our block lands (written straight to the blob at our position) but we never heard back.
        var raw = new BlobLogClient(_options);
        var block = Encoding.UTF8.GetBytes("{\"type\":\"t\",\"b\":\"x\"}\n");
        Assert.NotNull(await raw.AppendBlockAsync(AzureBlobTranscriptStore.BlobName(Tenant, key), block, length, CancellationToken.None));

        var retry = await log.AppendAsync([Line(null)], null, CancellationToken.None);
        Assert.Equal(1, retry.Appended);
        Assert.Equal(2, (await ReadAllAsync(key))!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Append_EntryLargerThanABlock_IsRejectedBeforeWriting()
    {
        var key = new SessionKey("p", "huge");
        var huge = new TranscriptLine(Encoding.UTF8.GetBytes("{\"type\":\"t\",\"b\":\"" + new string('x', AzureBlobOptions.MaxBlockBytes) + "\"}"), "h");
        var ex = await Assert.ThrowsAsync<Sessions.Cluster.Core.LimitExceededException>(() => _store.AppendAsync(Tenant, key, [Line("ok"), huge], null, CancellationToken.None));
        Assert.Equal(413, ex.Status);
        Assert.Equal(AzureBlobOptions.MaxEntryBytes, ex.Limit);
        Assert.Null(await _store.StatAsync(Tenant, key, CancellationToken.None));
    }

    [Fact]
    public async Task Keys_WithSpacesAndNonAsciiCharacters_AreSignedAndStored()
    {
        var key = new SessionKey("projét clé", "séance 1", "subagents/agent-é");
        await _store.AppendAsync("tenant-é", key, [Line("u")], null, CancellationToken.None);
        Assert.Equal(["subagents/agent-é"], await _store.ListSubpathsAsync("tenant-é", "projét clé", "séance 1", CancellationToken.None));
        Assert.Contains("tenant-é", await ToListAsync(_store.ListTenantsAsync(CancellationToken.None)));
    }

    [Fact]
    public async Task Append_BatchLargerThanOneBlock_IsPackedIntoSeveralWholeLineBlocks()
    {
        var key = new SessionKey("p", "big-batch");
        var lines = Enumerable.Range(0, 6).Select(i => new TranscriptLine(Encoding.UTF8.GetBytes($"{{\"type\":\"t\",\"uuid\":\"big{i}\",\"b\":\"{new string('y', 1_500_000)}\"}}"), $"big{i}")).ToList();
        var result = await _store.AppendAsync(Tenant, key, lines, null, CancellationToken.None);
        Assert.Equal(6, result.Appended);
        var text = await ReadAllAsync(key);
        Assert.Equal(6, text!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(text.EndsWith('\n'));
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
