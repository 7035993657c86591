using System.Text;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>The <see cref="ITranscriptStore"/> contract; every store subclasses this suite.</summary>
public abstract class TranscriptStoreConformance
{
    protected const string Tenant = "t1";

    protected Sessions.Cluster.Testing.FakeTimeProvider Clock { get; } = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    protected abstract ITranscriptStore Store { get; }

    protected static TranscriptLine Line(string? uuid, string body = "x") =>
        new(Encoding.UTF8.GetBytes(uuid is null ? $"{{\"type\":\"t\",\"b\":\"{body}\"}}" : $"{{\"type\":\"t\",\"uuid\":\"{uuid}\",\"b\":\"{body}\"}}"), uuid);

    protected async Task<string?> ReadAllAsync(SessionKey key)
    {
        await using var stream = await Store.OpenReadAsync(Tenant, key, 0, null, CancellationToken.None);
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Append_ThenRead_ReturnsLinesInOrderWithNewlines()
    {
        var key = new SessionKey("p", "s");
        var result = await Store.AppendAsync(Tenant, key, [Line("a"), Line(null), Line("b")], null, CancellationToken.None);
        Assert.Equal(3, result.Appended);
        Assert.True(result.Created);
        Assert.Equal("{\"type\":\"t\",\"uuid\":\"a\",\"b\":\"x\"}\n{\"type\":\"t\",\"b\":\"x\"}\n{\"type\":\"t\",\"uuid\":\"b\",\"b\":\"x\"}\n", await ReadAllAsync(key));
        Assert.Equal(result.Length, (await Store.StatAsync(Tenant, key, CancellationToken.None))!.Length);
    }

    [Fact]
    public async Task Append_DuplicateUuids_AreSkippedAcrossAndWithinBatches()
    {
        var key = new SessionKey("p", "dup");
        await Store.AppendAsync(Tenant, key, [Line("a")], null, CancellationToken.None);
        var result = await Store.AppendAsync(Tenant, key, [Line("a"), Line("b"), Line("b"), Line(null), Line(null)], null, CancellationToken.None);
        Assert.Equal(3, result.Appended);
        Assert.Equal(2, result.Duplicates);
    }

    [Fact]
    public async Task Append_ReplayedBatch_WritesNothing_EvenItsEntriesWithoutUuid()
    {
        var key = new SessionKey("p", "replay");
        var batch = new[] { Line("a"), Line(null, "summary"), Line("b") };
        var first = await Store.AppendAsync(Tenant, key, batch, null, CancellationToken.None);
        var replay = await Store.AppendAsync(Tenant, key, batch, null, CancellationToken.None);
        Assert.Equal(0, replay.Appended);
        Assert.Equal(3, replay.Duplicates);
        Assert.Equal(first.Length, replay.Length);

        // A batch with only uuid-less entries is always appended (titles, tags, markers).
        var markers = await Store.AppendAsync(Tenant, key, [Line(null, "summary")], null, CancellationToken.None);
        Assert.Equal(1, markers.Appended);
    }

    [Fact]
    public async Task Append_WithWrongExpectedLength_ThrowsConflictWithBothLengths_AndWritesNothing()
    {
        var key = new SessionKey("p", "fenced");
        var first = await Store.AppendAsync(Tenant, key, [Line("a")], 0, CancellationToken.None);
        var conflict = await Assert.ThrowsAsync<ConflictException>(() => Store.AppendAsync(Tenant, key, [Line("b")], 0, CancellationToken.None));
        Assert.Equal("0", conflict.Expected);
        Assert.Equal(first.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), conflict.Actual);
        Assert.Equal(first.Length, (await Store.StatAsync(Tenant, key, CancellationToken.None))!.Length);
        await Store.AppendAsync(Tenant, key, [Line("b")], first.Length, CancellationToken.None);
    }

    [Fact]
    public async Task Mtime_ComesFromTheInjectedClock()
    {
        var log = Store.Open(Tenant, new SessionKey("p", "clock"));
        Clock.Advance(TimeSpan.FromDays(3));
        var result = await log.AppendAsync([Line("a")], null, CancellationToken.None);
        Assert.Equal(Clock.GetUtcNow().ToUnixTimeMilliseconds(), result.Mtime);
        Assert.Equal(result.Mtime, (await log.StatAsync(CancellationToken.None))!.Mtime);
    }

    [Fact]
    public async Task OpenRead_IsFixedAtTheLengthWhenOpened_LaterAppendsDoNotLeakIn()
    {
        var key = new SessionKey("p", "snapshot");
        await Store.AppendAsync(Tenant, key, [Line("a")], null, CancellationToken.None);
        await using var stream = await Store.OpenReadAsync(Tenant, key, 0, null, CancellationToken.None);
        await Store.AppendAsync(Tenant, key, [Line("b")], null, CancellationToken.None);
        using var reader = new StreamReader(stream!);
        Assert.Equal("{\"type\":\"t\",\"uuid\":\"a\",\"b\":\"x\"}\n", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task Delete_MainCascadesToSubpaths_SubpathOnlyItself_AndListings()
    {
        var main = new SessionKey("p", "del");
        await Store.AppendAsync(Tenant, main, [Line("m")], null, CancellationToken.None);
        await Store.AppendAsync(Tenant, main with { Subpath = "subagents/agent-1" }, [Line("1")], null, CancellationToken.None);
        await Store.AppendAsync(Tenant, main with { Subpath = "subagents/agent-2" }, [Line("2")], null, CancellationToken.None);
        Assert.Equal(["subagents/agent-1", "subagents/agent-2"], await Store.ListSubpathsAsync(Tenant, "p", "del", CancellationToken.None));
        Assert.True(await Store.DeleteAsync(Tenant, main with { Subpath = "subagents/agent-1" }, CancellationToken.None));
        Assert.Equal(["subagents/agent-2"], await Store.ListSubpathsAsync(Tenant, "p", "del", CancellationToken.None));
        Assert.True(await Store.DeleteAsync(Tenant, main, CancellationToken.None));
        Assert.Null(await ReadAllAsync(main));
        Assert.Null(await ReadAllAsync(main with { Subpath = "subagents/agent-2" }));
        Assert.Empty(await Store.ListSubpathsAsync(Tenant, "p", "del", CancellationToken.None));
        Assert.False(await Store.DeleteAsync(Tenant, main, CancellationToken.None));
    }

    [Fact]
    public async Task DeleteIfUnchanged_DeletesOnlyWhenTheLengthIsStillTheClaimedOne()
    {
        var key = new SessionKey("p", "retained");
        var first = await Store.AppendAsync(Tenant, key, [Line("1")], null, CancellationToken.None);
        await Store.AppendAsync(Tenant, key with { Subpath = "subagents/agent-1" }, [Line("s")], null, CancellationToken.None);
        await Store.AppendAsync(Tenant, key, [Line("2")], null, CancellationToken.None);
        Assert.Equal(ConditionalDelete.Changed, await Store.DeleteIfUnchangedAsync(Tenant, key, first.Length, CancellationToken.None));
        Assert.NotNull(await ReadAllAsync(key));
        var now = (await Store.StatAsync(Tenant, key, CancellationToken.None))!.Length;
        Assert.Equal(ConditionalDelete.Deleted, await Store.DeleteIfUnchangedAsync(Tenant, key, now, CancellationToken.None));
        Assert.Null(await ReadAllAsync(key));
        Assert.Empty(await Store.ListSubpathsAsync(Tenant, "p", "retained", CancellationToken.None));
        Assert.Equal(ConditionalDelete.Missing, await Store.DeleteIfUnchangedAsync(Tenant, key, now, CancellationToken.None));
    }

    [Fact]
    public async Task Delete_OfKeysNeverWritten_IsFalse_NotAnError()
    {
        Assert.False(await Store.DeleteAsync(Tenant, new SessionKey("nowhere", "never", "subagents/agent-x"), CancellationToken.None));
        Assert.False(await Store.DeleteAsync(Tenant, new SessionKey("nowhere", "never"), CancellationToken.None));
        Assert.False(await Store.DeleteAsync("tenant-never-seen", new SessionKey("p", "s", "a/b"), CancellationToken.None));
    }

    [Fact]
    public async Task Tenants_AreIsolated_AndListMainTranscriptsSeesOnlyMainLogs()
    {
        var key = new SessionKey("p", "iso");
        await Store.AppendAsync("ta", key, [Line("a")], null, CancellationToken.None);
        await Store.AppendAsync("ta", key with { Subpath = "subagents/agent-x" }, [Line("x")], null, CancellationToken.None);
        Assert.Null(await Store.StatAsync("tb", key, CancellationToken.None));
        var mains = new List<TranscriptStat>();
        await foreach (var stat in Store.ListMainTranscriptsAsync("ta", CancellationToken.None))
        {
            mains.Add(stat);
        }

        Assert.Equal([key], mains.Select(m => m.Key));
    }

    [Fact]
    public async Task Append_ConcurrentWritersOfManyLogs_OneHandleEach_LoseAndDuplicateNothing()
    {
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var log = Store.Open(Tenant, new SessionKey("p", $"race-{w}"));
            for (var i = 0; i < 50; i++)
            {
                await log.AppendAsync([Line($"w{w}-{i:D3}"), Line($"w{w}-{i:D3}")], null, CancellationToken.None);
            }
        })));
        for (var w = 0; w < 8; w++)
        {
            var lines = (await ReadAllAsync(new SessionKey("p", $"race-{w}")))!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(50, lines.Length);
            Assert.Equal(50, lines.Distinct().Count());
        }
    }

    [Fact]
    public async Task Append_AfterAnotherHandleWrote_TheFenceFindsItsLines_NothingIsDuplicatedOrLost()
    {
        var key = new SessionKey("p", "two-handles");
        var mine = Store.Open(Tenant, key);
        var first = await mine.AppendAsync([Line("a")], null, CancellationToken.None);
        // Another writer (a duplicate activation, a tool) appends between two of ours.
        var theirs = await Store.Open(Tenant, key).AppendAsync([Line("b"), Line(null, "theirs")], null, CancellationToken.None);

        var stale = await Assert.ThrowsAsync<ConflictException>(() => mine.AppendAsync([Line("c")], first.Length, CancellationToken.None));
        Assert.Equal(theirs.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), stale.Actual);
        var next = await mine.AppendAsync([Line("b"), Line("c")], null, CancellationToken.None);
        Assert.Equal((1, 1), (next.Appended, next.Duplicates));
        Assert.Equal(4, (await ReadAllAsync(key))!.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(next.Length, (await mine.StatAsync(CancellationToken.None))!.Length);

        // Deleted under the handle (an erasure elsewhere): the next append starts the log again.
        Assert.True(await Store.DeleteAsync(Tenant, key, CancellationToken.None));
        var again = await mine.AppendAsync([Line("a")], null, CancellationToken.None);
        Assert.Equal((1, true), (again.Appended, again.Created));
        Assert.Equal("{\"type\":\"t\",\"uuid\":\"a\",\"b\":\"x\"}\n", await ReadAllAsync(key));
    }
}
