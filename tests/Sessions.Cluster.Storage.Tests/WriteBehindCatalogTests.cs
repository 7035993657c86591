using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>
/// Embedded mode's catalog decorator: row refreshes after appends are held back and coalesced per session, yet this
/// process always reads its own writes, deletions are never undone by a late refresh, and nothing held back is lost
/// on a clean stop.
/// </summary>
[Trait("Category", "Unit")]
public sealed class WriteBehindCatalogTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UnixEpoch.AddDays(20_000));
    private readonly SqliteSessionCatalog _inner = new(new SqliteCatalogOptions { Path = Path.Combine(RepoPaths.TempDir("write-behind"), "catalog.db") });
    private WriteBehindCatalog _catalog = null!;

    public async Task InitializeAsync()
    {
        _catalog = new WriteBehindCatalog(_inner, _clock, TimeSpan.FromMilliseconds(50));
        await _catalog.InitializeAsync(CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private static SessionRecord Row(string sid, long size) => new() { Tenant = "t", ProjectKey = "p", SessionId = sid, Mtime = size, Size = size, Listed = true, Summary = "s" + size };

    [Fact]
    public async Task Refreshes_AreCoalescedPerSession_OnlyTheNewestIsComputed_AndReadsSeeIt()
    {
        var computed = 0;
        for (var i = 1; i <= 100; i++)
        {
            var size = i;
            await _catalog.RefreshAsync("t", "p", "s", () => { computed++; return Row("s", size); }, CancellationToken.None);
        }

        Assert.Equal(1, _catalog.PendingCount);
        Assert.Null(await _inner.GetAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(Row("s", 100), await _catalog.GetAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(1, computed);
        Assert.Equal(0, _catalog.PendingCount);
    }

    [Fact]
    public async Task Summaries_AreDecidedInMemory_WrittenBehind_AndReadBackByThisProcess()
    {
        Assert.Equal(1, await _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":1}", 10, 0, 0, CancellationToken.None));
        Assert.Equal(2, await _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":2}", 20, 1, 10, CancellationToken.None));
        await Assert.ThrowsAsync<Core.ConflictException>(() => _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":0}", 30, 1, 0, CancellationToken.None));
        await Assert.ThrowsAsync<Core.ConflictException>(() => _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":0}", 30, 2, 25, CancellationToken.None));
        Assert.Null(await _inner.GetSummaryAsync("t", "p", "s", CancellationToken.None));

        // Held back until a reader (or the delay) writes it; the store then has the version decided here.
        Assert.Equal(new SummaryRecord("s", 20, "{\"n\":2}", 2), await _catalog.GetSummaryAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(new SummaryRecord("s", 20, "{\"n\":2}", 2), await _inner.GetSummaryAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(3, await _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":3}", 30, 2, 20, CancellationToken.None));

        // A delete writes what is held back first, then removes it: nothing comes back.
        await _catalog.RefreshAsync("t", "p", "s", () => Row("s", 1), CancellationToken.None);
        Assert.True(await _catalog.DeleteAsync("t", "p", "s", CancellationToken.None));
        Assert.Null(await _catalog.GetSummaryAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(1, await _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":1}", 40, 0, 0, CancellationToken.None));
    }

    [Fact]
    public async Task ARowThatCannotBeComputed_IsDropped_AndHoldsBackNoOtherSessionsRow()
    {
        // Before, the whole flush failed on it, every time: no row of any session was written again.
        await _catalog.RefreshAsync("t", "p", "a", () => Row("a", 1), CancellationToken.None);
        await _catalog.RefreshAsync("t", "p", "bad", () => throw new InvalidOperationException("a transcript its reader chokes on"), CancellationToken.None);
        await _catalog.RefreshAsync("t", "p", "c", () => Row("c", 3), CancellationToken.None);

        await _catalog.FlushAsync(CancellationToken.None);

        Assert.Equal(Row("a", 1), await _inner.GetAsync("t", "p", "a", CancellationToken.None));
        Assert.Equal(Row("c", 3), await _inner.GetAsync("t", "p", "c", CancellationToken.None));
        Assert.Null(await _inner.GetAsync("t", "p", "bad", CancellationToken.None));
        Assert.Equal(0, _catalog.PendingCount);
        await _catalog.RefreshAsync("t", "p", "bad", () => Row("bad", 2), CancellationToken.None);
        Assert.Equal(Row("bad", 2), await _catalog.GetAsync("t", "p", "bad", CancellationToken.None));
    }

    [Fact]
    public async Task TheDelay_WritesHeldBackRowsWithoutAnyReader()
    {
        await _catalog.RefreshAsync("t", "p", "a", () => Row("a", 1), CancellationToken.None);
        await _catalog.RefreshAsync("t", "p", "b", () => Row("b", 2), CancellationToken.None);
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _inner.GetAsync("t", "p", "b", CancellationToken.None) is null)
        {
            await Task.Delay(10, timeout.Token);
        }

        Assert.Equal(Row("a", 1), await _inner.GetAsync("t", "p", "a", CancellationToken.None));
    }

    [Fact]
    public async Task Delete_AfterAHeldBackRefresh_StaysDeleted()
    {
        await _catalog.RefreshAsync("t", "p", "s", () => Row("s", 5), CancellationToken.None);
        Assert.True(await _catalog.DeleteAsync("t", "p", "s", CancellationToken.None));
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        await _catalog.FlushAsync(CancellationToken.None);
        Assert.Null(await _catalog.GetAsync("t", "p", "s", CancellationToken.None));
    }

    [Fact]
    public async Task ListingsAndRetention_SeeHeldBackRows()
    {
        await _catalog.RefreshAsync("t", "p", "s", () => Row("s", 5) with { Mtime = 1 }, CancellationToken.None);
        Assert.Equal(["s"], (await _catalog.ListAsync("t", "p", new SessionQuery(Limit: 10), CancellationToken.None)).Items.Select(r => r.SessionId));
        await _catalog.RefreshAsync("t", "p", "s", () => Row("s", 6) with { Mtime = 1000 }, CancellationToken.None);
        // Written again after the cutoff, so retention must not list it.
        Assert.Empty(await _catalog.ListExpiredAsync("t", 500, [], 10, null, CancellationToken.None));
    }

    [Fact]
    public async Task Dispose_WritesWhatIsHeldBack()
    {
        var path = Path.Combine(RepoPaths.TempDir("write-behind-reopen"), "catalog.db");
        var inner = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = path });
        await using (var catalog = new WriteBehindCatalog(inner, _clock, TimeSpan.FromMinutes(5)))
        {
            await catalog.InitializeAsync(CancellationToken.None);
            await catalog.RefreshAsync("t", "p", "kept", () => Row("kept", 3), CancellationToken.None);
        }

        var reopened = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = path });
        Assert.Equal(Row("kept", 3), await reopened.GetAsync("t", "p", "kept", CancellationToken.None));
    }
}
