using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>
/// Embedded mode's catalog decorator: row refreshes after appends are held back by each session's writer and coalesced
/// there, yet this process always reads its own writes, deletions are never undone by a late refresh, and nothing held
/// back is lost on a clean stop.
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
    public async Task Refreshes_AreCoalescedInTheSessionsHeldWrites_OnlyTheNewestIsComputed_AndReadsSeeIt()
    {
        var held = new HeldCatalogWrites();
        var computed = 0;
        for (var i = 1; i <= 100; i++)
        {
            var size = i;
            _catalog.Hold(held, () => { computed++; return Row("s", size); });
        }

        Assert.Equal(1, _catalog.PendingCount);
        Assert.False(held.IsEmpty);
        Assert.Null(await _inner.GetAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(Row("s", 100), await _catalog.GetAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(1, computed);
        Assert.Equal(0, _catalog.PendingCount);
        Assert.True(held.IsEmpty);
    }

    [Fact]
    public async Task Summaries_AreDecidedAgainstTheWritersHeldSidecar_WrittenBehind_AndReadBackByThisProcess()
    {
        var held = new HeldCatalogWrites();
        Task<long> Put(string data, long mtime, long expected, long notBefore, SummaryRecord? known = null) =>
            _catalog.PutSummaryAsync(held, "t", "p", "s", data, mtime, expected, notBefore, known, CancellationToken.None);

        Assert.Equal(1, await Put("{\"n\":1}", 10, 0, 0));
        Assert.Equal(2, await Put("{\"n\":2}", 20, 1, 10));
        Assert.Equal(new SummaryRecord("s", 20, "{\"n\":2}", 2), held.NewestSummary);
        await Assert.ThrowsAsync<Core.ConflictException>(() => Put("{\"n\":0}", 30, 1, 0));
        await Assert.ThrowsAsync<Core.ConflictException>(() => Put("{\"n\":0}", 30, 2, 25));
        Assert.Null(await _inner.GetSummaryAsync("t", "p", "s", CancellationToken.None));

        // Held back until a reader (or the delay) writes it; the store then has the version decided here, and the next
        // decision is made against what the writer says it knows (no held sidecar left).
        Assert.Equal(new SummaryRecord("s", 20, "{\"n\":2}", 2), await _catalog.GetSummaryAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(new SummaryRecord("s", 20, "{\"n\":2}", 2), await _inner.GetSummaryAsync("t", "p", "s", CancellationToken.None));
        Assert.Null(held.NewestSummary);
        Assert.Equal(3, await Put("{\"n\":3}", 30, 2, 20, new SummaryRecord("s", 20, "{\"n\":2}", 2)));
        // Not known: read from the catalog (version 2 is stored, 3 is only held, so it is decided against the held one).
        await Assert.ThrowsAsync<Core.ConflictException>(() => Put("{\"n\":0}", 40, 2, 0));

        // A write by anyone else goes through, after what is held back.
        await Assert.ThrowsAsync<Core.ConflictException>(() => _catalog.PutSummaryAsync("t", "p", "s", "{}", 50, 2, 0, CancellationToken.None));
        Assert.Equal(4, await _catalog.PutSummaryAsync("t", "p", "s", "{\"n\":4}", 50, 3, 0, CancellationToken.None));

        // A delete writes what is held back first, then removes it: nothing comes back.
        _catalog.Hold(held, () => Row("s", 1));
        Assert.True(await _catalog.DeleteAsync("t", "p", "s", CancellationToken.None));
        Assert.Null(await _catalog.GetSummaryAsync("t", "p", "s", CancellationToken.None));
        Assert.Equal(1, await Put("{\"n\":1}", 60, 0, 0));
    }

    [Fact]
    public async Task AFailedWrite_KeepsWhatItTook_UnlessTheWriterHeldSomethingNewerMeanwhile()
    {
        var path = Path.Combine(RepoPaths.TempDir("write-behind-outage"), "catalog.db");
        var (failing, outage) = FailingCatalog.Over(new SqliteSessionCatalog(new SqliteCatalogOptions { Path = path }));
        var catalog = new WriteBehindCatalog(failing, _clock, TimeSpan.FromMinutes(5));
        await catalog.InitializeAsync(CancellationToken.None);
        var (a, b) = (new HeldCatalogWrites(), new HeldCatalogWrites());
        catalog.Hold(a, () => Row("a", 1));
        catalog.Hold(b, () => Row("b", 1));
        Assert.Equal(1, await catalog.PutSummaryAsync(a, "t", "p", "a", "{\"v\":1}", 1, 0, 0, null, CancellationToken.None));

        outage.Down = true;
        await Assert.ThrowsAsync<Core.StorageUnavailableException>(() => catalog.FlushAsync(CancellationToken.None));
        Assert.Equal(2, catalog.PendingCount);
        Assert.Equal(1, a.NewestSummary?.Version);
        catalog.Hold(b, () => Row("b", 2));

        outage.Down = false;
        await catalog.FlushAsync(CancellationToken.None);
        Assert.Equal(Row("a", 1), await failing.GetAsync("t", "p", "a", CancellationToken.None));
        Assert.Equal(Row("b", 2), await failing.GetAsync("t", "p", "b", CancellationToken.None));
        Assert.Equal(1, (await failing.GetSummaryAsync("t", "p", "a", CancellationToken.None))?.Version);
        Assert.True(a.IsEmpty && b.IsEmpty);
        Assert.Null(a.NewestSummary);
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
            catalog.Hold(new HeldCatalogWrites(), () => Row("kept", 3));
        }

        var reopened = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = path });
        Assert.Equal(Row("kept", 3), await reopened.GetAsync("t", "p", "kept", CancellationToken.None));
    }

    // A catalog whose writes fail while Down (the outage a flush must survive); everything else is the inner one's.
    public class FailingCatalog : System.Reflection.DispatchProxy
    {
        private ISessionCatalog _inner = null!;

        public bool Down { get; set; }

        public static (ISessionCatalog Catalog, FailingCatalog Switch) Over(ISessionCatalog inner)
        {
            var proxy = Create<ISessionCatalog, FailingCatalog>();
            var failing = (FailingCatalog)(object)proxy;
            failing._inner = inner;
            return (proxy, failing);
        }

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) =>
            Down && targetMethod!.Name is nameof(ISessionCatalog.UpsertManyAsync) or nameof(ISessionCatalog.UpsertAsync) or nameof(ISessionCatalog.WriteSummariesAsync)
                ? Task.FromException(new Core.StorageUnavailableException("The catalog is down (test)."))
                : targetMethod!.Invoke(_inner, args);
    }
}
