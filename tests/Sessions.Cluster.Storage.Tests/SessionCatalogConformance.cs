using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>The <see cref="ISessionCatalog"/> contract; every catalog subclasses this suite.</summary>
public abstract class SessionCatalogConformance : IAsyncLifetime
{
    protected abstract ISessionCatalog Catalog { get; }

    /// <summary>The tenant directory kept in the same database (the catalog itself, unless it decorates one).</summary>
    protected virtual ITenantDirectory Directory => (ITenantDirectory)Catalog;

    public virtual Task InitializeAsync() => Catalog.InitializeAsync(CancellationToken.None);

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static SessionRecord Row(string tenant, string pk, string sid, long mtime, long size = 10, string? tag = null, string? summary = "s", bool listed = true) => new()
    {
        Tenant = tenant, ProjectKey = pk, SessionId = sid, Mtime = mtime, Size = size, Listed = listed, Tag = tag, Summary = summary,
    };

    [Fact]
    public async Task AsStored_IsWhatAReadGivesBack_ControlCharactersIncluded()
    {
        // A session's grain answers info from the row it wrote: that answer must be the catalog's own.
        await Catalog.InitializeAsync(CancellationToken.None);
        var row = Row("as", "p", "s", 5, tag: "t\0g", summary: "s\0m") with
        {
            CustomTitle = "ti\0tle", FirstPrompt = "a\0\u0001\u200Eb", Cwd = "/a\0b", GitBranch = "m\0", CreatedAt = 3, ParentSessionId = "parent", IsSidechain = true,
            Usage = "{\"models\":{\"m\\u0000\":1},\"note\":\"\0\"}",
        };
        await Catalog.UpsertAsync(row, CancellationToken.None);
        Assert.Equal(Catalog.AsStored(row), await Catalog.GetAsync("as", "p", "s", CancellationToken.None));
    }

    [Fact]
    public async Task AppendIntents_FirstRecordStands_AnExpiredOneIsReplaced_PerLog_AndGoWithTheSessionAndTheTenant()
    {
        await Catalog.InitializeAsync(CancellationToken.None);
        var main = new SessionKey("p", "s");
        var first = new AppendIntent("ai", main, "k1", 100, 40, 1_000);
        Assert.Null(await Catalog.AddAppendIntentAsync(first, 0, CancellationToken.None));
        // The retry's record (another offset) does not replace the first call's: the first one is answered.
        Assert.Equal(first, await Catalog.AddAppendIntentAsync(first with { Offset = 500, At = 2_000 }, 0, CancellationToken.None));
        // The same key on a subpath, in another session or another tenant is another record.
        Assert.Null(await Catalog.AddAppendIntentAsync(first with { Key = main with { Subpath = "subagents/agent-a" } }, 0, CancellationToken.None));
        Assert.Null(await Catalog.AddAppendIntentAsync(first with { Key = new SessionKey("p", "t") }, 0, CancellationToken.None));
        Assert.Null(await Catalog.AddAppendIntentAsync(first with { Tenant = "other" }, 0, CancellationToken.None));
        // Past its hour the record is replaced; Set replaces whatever stands.
        var later = first with { Offset = 700, At = 9_000 };
        Assert.Null(await Catalog.AddAppendIntentAsync(later, 5_000, CancellationToken.None));
        Assert.Equal(later, await Catalog.AddAppendIntentAsync(first, 5_000, CancellationToken.None));
        await Catalog.SetAppendIntentAsync(later with { Offset = 800 }, CancellationToken.None);
        Assert.Equal(later with { Offset = 800 }, await Catalog.AddAppendIntentAsync(first, 5_000, CancellationToken.None));
        // A new key's record drops the session's expired ones.
        Assert.Null(await Catalog.AddAppendIntentAsync(first with { IdempotencyKey = "k2", At = 20_000 }, 10_000, CancellationToken.None));
        Assert.Null(await Catalog.AddAppendIntentAsync(later with { At = 20_000 }, 10_000, CancellationToken.None));

        await Catalog.UpsertAsync(Row("ai", "p", "s", 5), CancellationToken.None);
        await Catalog.DeleteAsync("ai", "p", "s", CancellationToken.None);
        Assert.Null(await Catalog.AddAppendIntentAsync(first with { IdempotencyKey = "k2" }, 0, CancellationToken.None));
        Assert.NotNull(await Catalog.AddAppendIntentAsync(first with { Key = new SessionKey("p", "t") }, 0, CancellationToken.None));
        await Catalog.DeleteTenantAsync("ai", CancellationToken.None);
        Assert.Null(await Catalog.AddAppendIntentAsync(first with { Key = new SessionKey("p", "t") }, 0, CancellationToken.None));
        Assert.NotNull(await Catalog.AddAppendIntentAsync(first with { Tenant = "other" }, 0, CancellationToken.None));
    }

    [Fact]
    public async Task UnfinishedForks_AreNotedPerTenant_OutliveTheirSessionsDelete_AndGoWithTheTenant()
    {
        var first = new UnfinishedFork("uf", "p", "f1", "parent", 2_000);
        await Catalog.AddUnfinishedForkAsync(first, CancellationToken.None);
        await Catalog.AddUnfinishedForkAsync(first with { ForkId = "f0", At = 1_000 }, CancellationToken.None);
        await Catalog.AddUnfinishedForkAsync(first with { Tenant = "uf-other" }, CancellationToken.None);
        // A second note of one fork replaces the first.
        await Catalog.AddUnfinishedForkAsync(first with { At = 3_000 }, CancellationToken.None);
        Assert.Equal([first with { ForkId = "f0", At = 1_000 }, first with { At = 3_000 }], await Catalog.ListUnfinishedForksAsync("uf", CancellationToken.None));

        // The parent's delete does not drop the notes (the parent clears them itself, once its forks are finished).
        await Catalog.UpsertAsync(Row("uf", "p", "parent", 1, 1), CancellationToken.None);
        await Catalog.DeleteAsync("uf", "p", "parent", CancellationToken.None);
        Assert.Equal(2, (await Catalog.ListUnfinishedForksAsync("uf", CancellationToken.None)).Count);

        await Catalog.RemoveUnfinishedForkAsync("uf", "p", "f0", CancellationToken.None);
        await Catalog.RemoveUnfinishedForkAsync("uf", "p", "never-noted", CancellationToken.None);
        Assert.Equal([first with { At = 3_000 }], await Catalog.ListUnfinishedForksAsync("uf", CancellationToken.None));
        await Catalog.DeleteTenantAsync("uf", CancellationToken.None);
        Assert.Empty(await Catalog.ListUnfinishedForksAsync("uf", CancellationToken.None));
        Assert.Equal([first with { Tenant = "uf-other" }], await Catalog.ListUnfinishedForksAsync("uf-other", CancellationToken.None));
    }

    [Fact]
    public async Task AnIndexWriteRacingTheSessionsDelete_LeavesNoWordsBehind_ForASessionMadeAgainWithItsId()
    {
        for (var i = 0; i < 40; i++)
        {
            var sid = $"race-{i}";
            await Catalog.UpsertAsync(Row("race", "p", sid, 1), CancellationToken.None);
            var messages = Enumerable.Range(0, 50).Select(n => new IndexedMessage($"u{n}", "user", 1000, $"leftover{i} message {n}")).ToList();
            await Task.WhenAll(
                Task.Run(() => Catalog.IndexMessagesAsync("race", "p", sid, messages, 10, CancellationToken.None)),
                Task.Run(() => Catalog.DeleteAsync("race", "p", sid, CancellationToken.None)));
            await Catalog.UpsertAsync(Row("race", "p", sid, 2), CancellationToken.None);
            var found = await Catalog.SearchMessagesAsync("race", SearchQuery.Parse($"leftover{i}"), null, 10, 0, CancellationToken.None);
            if (found.Count > 0)
            {
                // Indexed after the delete, not before it: the words would belong to a session that never said them.
                Assert.Fail($"round {i}: a deleted session's words outlived it");
            }
        }
    }

    [Fact]
    public async Task IndexedLength_IsKeptPerRow_AsItsLargest_AndRowsPastItAreListed()
    {
        await Catalog.UpsertAsync(Row("ix", "p", "behind", 1, size: 300), CancellationToken.None);
        await Catalog.UpsertAsync(Row("ix", "p", "caught-up", 2, size: 200), CancellationToken.None);
        await Catalog.UpsertAsync(Row("ix-other", "p", "elsewhere", 3, size: 100), CancellationToken.None);
        Assert.Equal([new SessionKey("p", "caught-up"), new SessionKey("p", "behind")], await Catalog.ListUnindexedAsync("ix", 10, CancellationToken.None));

        // A batch without messages still moves the mark; a smaller (older) length never moves it back.
        await Catalog.IndexMessagesAsync("ix", "p", "caught-up", [], 200, CancellationToken.None);
        await Catalog.IndexMessagesAsync("ix", "p", "behind", [new IndexedMessage("b1", "user", 1000, "words")], 250, CancellationToken.None);
        await Catalog.IndexMessagesAsync("ix", "p", "behind", [], 100, CancellationToken.None);
        Assert.Equal([new SessionKey("p", "behind")], await Catalog.ListUnindexedAsync("ix", 10, CancellationToken.None));
        await Catalog.IndexMessagesAsync("ix", "p", "behind", [], 300, CancellationToken.None);
        Assert.Empty(await Catalog.ListUnindexedAsync("ix", 10, CancellationToken.None));

        // The transcript grows (its row with it): behind again until indexed.
        await Catalog.UpsertAsync(Row("ix", "p", "behind", 4, size: 400), CancellationToken.None);
        Assert.Equal([new SessionKey("p", "behind")], await Catalog.ListUnindexedAsync("ix", 1, CancellationToken.None));
        Assert.Single(await Catalog.ListUnindexedAsync("ix-other", 10, CancellationToken.None));
    }

    [Fact]
    public async Task ContentSearch_RanksSessionsByTheirMessages_WithMarkedSnippets_InOneTenant_AndForgetsWhatGoes()
    {
        await Catalog.InitializeAsync(CancellationToken.None);
        static IndexedMessage M(string uuid, string text, string role = "user") => new(uuid, role, 1000, text);
        async Task Session(string tenant, string pk, string sid, params IndexedMessage[] messages)
        {
            await Catalog.UpsertAsync(Row(tenant, pk, sid, 10), CancellationToken.None);
            await Catalog.IndexMessagesAsync(tenant, pk, sid, messages, 10, CancellationToken.None);
        }

        async Task<List<string>> Find(string tenant, string q, string? pk = null, int limit = 10, int offset = 0) =>
            [.. (await Catalog.SearchMessagesAsync(tenant, SearchQuery.Parse(q), pk, limit, offset, CancellationToken.None)).Select(h => h.Session.SessionId)];

        await Session("cs", "a", "flaky", M("f1", "The integration test is flaky on Windows"), M("f2", "flaky flaky flaky: retry the flaky test"), M("f3", "unrelated words"));
        await Session("cs", "a", "parser", M("p1", "The parser test fails on Linux"), M("p2", "Bash\ncommand: dotnet test --filter Parser", "assistant"));
        await Session("cs", "b", "other", M("o1", "A test of the build on macOS"));
        await Session("other-tenant", "a", "secret", M("s1", "flaky test with a secret word zebra"));
        // No row: nothing is indexed (a session being deleted while its last append is indexed).
        await Catalog.IndexMessagesAsync("cs", "a", "gone", [M("g1", "flaky zebra")], 10, CancellationToken.None);

        Assert.Equal(["flaky", "other", "parser"], (await Find("cs", "test")).Order(StringComparer.Ordinal));
        var flaky = Assert.Single(await Catalog.SearchMessagesAsync("cs", SearchQuery.Parse("FLAKY test"), null, 10, 0, CancellationToken.None));
        Assert.Equal("flaky", flaky.Session.SessionId);
        Assert.Equal(["f2", "f1"], flaky.Messages.Select(m => m.Uuid));
        Assert.Contains("**flaky**", flaky.Messages[0].Snippet, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(("user", 1000L), (flaky.Messages[1].Role, flaky.Messages[1].Timestamp!.Value));
        Assert.Equal(["parser"], await Find("cs", "\"test fails\""));
        Assert.Empty(await Find("cs", "\"fails test\""));
        // Every term applies to one message: an exclusion drops the messages that hold it.
        Assert.Equal(["flaky"], await Find("cs", "integration"));
        Assert.Empty(await Find("cs", "integration -windows"));
        Assert.Equal(2, (await Find("cs", "windows OR linux")).Count);
        Assert.Equal(["parser"], await Find("cs", "dotnet filter"));
        Assert.Equal(["other"], await Find("cs", "test", "b"));
        Assert.Empty(await Find("cs", "zebra"));
        Assert.Equal(["secret"], await Find("other-tenant", "flaky"));

        // Pages: one session a page, in rank order, then nothing.
        var pages = new List<string>();
        for (var offset = 0; offset < 4; offset++)
        {
            pages.AddRange(await Find("cs", "test", limit: 1, offset: offset));
        }

        Assert.Equal(3, pages.Distinct().Count());

        // Re-indexing a message replaces its words; trashed sessions are not found until restored; deleted and
        // purged ones are forgotten, as is an erased tenant.
        await Catalog.IndexMessagesAsync("cs", "a", "flaky", [M("f1", "now about giraffes")], 10, CancellationToken.None);
        Assert.Equal(["flaky"], await Find("cs", "giraffes"));
        Assert.Equal(["flaky"], await Find("cs", "flaky"));
        Assert.True(await Catalog.MoveToTrashAsync(new TrashedSession("cs", "a", "flaky", 10, 10, 5000, null), "silo", CancellationToken.None));
        Assert.Empty(await Find("cs", "giraffes"));
        Assert.True(await Catalog.RestoreFromTrashAsync(Row("cs", "a", "flaky", 10), 6000, "test", CancellationToken.None));
        Assert.Equal(["flaky"], await Find("cs", "giraffes"));
        Assert.True(await Catalog.MoveToTrashAsync(new TrashedSession("cs", "a", "flaky", 10, 10, 5000, null), "silo", CancellationToken.None));
        Assert.True(await Catalog.PurgeTrashedAsync("cs", "a", "flaky", 7000, "silo", CancellationToken.None));
        await Catalog.UpsertAsync(Row("cs", "a", "flaky", 20), CancellationToken.None);
        Assert.Empty(await Find("cs", "giraffes"));
        Assert.True(await Catalog.DeleteAsync("cs", "a", "parser", CancellationToken.None));
        await Catalog.UpsertAsync(Row("cs", "a", "parser", 20), CancellationToken.None);
        Assert.Empty(await Find("cs", "dotnet"));
        await Catalog.DeleteTenantAsync("other-tenant", CancellationToken.None);
        await Catalog.UpsertAsync(Row("other-tenant", "a", "secret", 20), CancellationToken.None);
        Assert.Empty(await Find("other-tenant", "zebra"));
    }

    [Fact]
    public async Task ListForks_AnswersTheForksOfTheGivenParents_ListedOrNot_NewestFirst_InOneProjectOfOneTenant()
    {
        await Catalog.InitializeAsync(CancellationToken.None);
        await Catalog.UpsertAsync(Row("ft", "p", "root", 10), CancellationToken.None);
        await Catalog.UpsertAsync(Row("ft", "p", "a", 20) with { ParentSessionId = "root" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("ft", "p", "b", 40, listed: false) with { ParentSessionId = "root" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("ft", "p", "a1", 30) with { ParentSessionId = "a" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("ft", "other", "x", 50) with { ParentSessionId = "root" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("other", "p", "y", 60) with { ParentSessionId = "root" }, CancellationToken.None);

        Assert.Equal(["b", "a"], (await Catalog.ListForksAsync("ft", "p", ["root"], 10, CancellationToken.None)).Select(r => r.SessionId));
        Assert.Equal(["b", "a1", "a"], (await Catalog.ListForksAsync("ft", "p", ["root", "a"], 10, CancellationToken.None)).Select(r => r.SessionId));
        Assert.Equal(["b"], (await Catalog.ListForksAsync("ft", "p", ["root", "a"], 1, CancellationToken.None)).Select(r => r.SessionId));
        Assert.Empty(await Catalog.ListForksAsync("ft", "p", ["a1", "missing"], 10, CancellationToken.None));
        Assert.Empty(await Catalog.ListForksAsync("ft", "p", [], 10, CancellationToken.None));
    }

    [Fact]
    public async Task ListProjects_CountsListedSessions_NewestProjectFirst_WithItsLatestCwd()
    {
        await Catalog.InitializeAsync(CancellationToken.None);
        await Catalog.UpsertAsync(Row("pt", "a", "1", 10) with { Cwd = "/old" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("pt", "a", "2", 30) with { Cwd = "/new" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("pt", "a", "3", 40, listed: false), CancellationToken.None);
        await Catalog.UpsertAsync(Row("pt", "b", "4", 50), CancellationToken.None);
        await Catalog.UpsertAsync(Row("other", "c", "5", 60), CancellationToken.None);
        Assert.Equal([new ProjectSummary("b", 1, 50, null), new ProjectSummary("a", 2, 30, "/new")], await Catalog.ListProjectsAsync("pt", CancellationToken.None));
    }

    [Fact]
    public async Task Search_MatchesTitlePromptSummaryTagOrIdPrefix_AcrossProjects_InOneTenant()
    {
        await Catalog.InitializeAsync(CancellationToken.None);
        await Catalog.UpsertAsync(Row("st", "a", "abc-1", 10, summary: "Fix the Parser"), CancellationToken.None);
        await Catalog.UpsertAsync(Row("st", "b", "def-2", 20, tag: "parser-work"), CancellationToken.None);
        await Catalog.UpsertAsync(Row("st", "b", "ghi-3", 30) with { FirstPrompt = "why does the PARSER fail" }, CancellationToken.None);
        await Catalog.UpsertAsync(Row("st", "c", "jkl-4", 40), CancellationToken.None);
        await Catalog.UpsertAsync(Row("st", "c", "mno-5", 50, summary: "parser", listed: false), CancellationToken.None);
        await Catalog.UpsertAsync(Row("other", "a", "pqr-6", 60, summary: "parser"), CancellationToken.None);
        Assert.Equal(["ghi-3", "def-2", "abc-1"], (await Catalog.SearchAsync("st", "parser", 10, CancellationToken.None)).Select(r => r.SessionId));
        Assert.Equal(["jkl-4"], (await Catalog.SearchAsync("st", "jkl", 10, CancellationToken.None)).Select(r => r.SessionId));
        Assert.Equal(["ghi-3"], (await Catalog.SearchAsync("st", "parser", 1, CancellationToken.None)).Select(r => r.SessionId));
    }

    [Fact]
    public async Task Upsert_ThenGet_RoundTripsEveryField()
    {
        var row = Row("t", "p", "s", 5) with { CustomTitle = "ct", FirstPrompt = "fp", Cwd = "/c", GitBranch = "main", CreatedAt = 42, ParentSessionId = "parent", IsSidechain = true, Usage = "{\"input\":1}" };
        await Catalog.InitializeAsync(CancellationToken.None);
        await Catalog.UpsertAsync(row, CancellationToken.None);
        Assert.Equal(row, await Catalog.GetAsync("t", "p", "s", CancellationToken.None));

        // A row written without usage (a writer that did not count it) keeps the usage stored; a newer usage replaces it.
        await Catalog.UpsertAsync(row with { Size = 20, Usage = null }, CancellationToken.None);
        Assert.Equal(row with { Size = 20 }, await Catalog.GetAsync("t", "p", "s", CancellationToken.None));
        await Catalog.UpsertAsync(row with { Size = 30, Usage = "{\"input\":2}" }, CancellationToken.None);
        Assert.Equal("{\"input\":2}", (await Catalog.GetAsync("t", "p", "s", CancellationToken.None))!.Usage);
    }

    [Fact]
    public async Task Upsert_OlderSmallerState_NeverOverwritesNewer()
    {
        await Catalog.UpsertAsync(Row("t", "p", "s", 10, size: 100, summary: "new"), CancellationToken.None);
        await Catalog.UpsertAsync(Row("t", "p", "s", 9, size: 50, summary: "old"), CancellationToken.None);
        Assert.Equal("new", (await Catalog.GetAsync("t", "p", "s", CancellationToken.None))!.Summary);
    }

    [Fact]
    public async Task List_PagesNewestFirst_FiltersByTagAndText_AndHidesUnlisted()
    {
        for (var i = 0; i < 7; i++)
        {
            await Catalog.UpsertAsync(Row("t", "p", $"s{i}", 100 + i, tag: i % 2 == 0 ? "even" : null, summary: $"summary {i}"), CancellationToken.None);
        }

        await Catalog.UpsertAsync(Row("t", "p", "hidden", 999, listed: false, summary: null), CancellationToken.None);
        await Catalog.UpsertAsync(Row("other-tenant", "p", "x", 1000), CancellationToken.None);
        var ids = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Catalog.ListAsync("t", "p", new SessionQuery(Limit: 3, Cursor: cursor), CancellationToken.None);
            ids.AddRange(page.Items.Select(r => r.SessionId));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        Assert.Equal(["s6", "s5", "s4", "s3", "s2", "s1", "s0"], ids);
        Assert.Equal(["s6", "s4", "s2", "s0"], (await Catalog.ListAsync("t", "p", new SessionQuery(Tag: "even"), CancellationToken.None)).Items.Select(r => r.SessionId));
        Assert.Equal(["s3"], (await Catalog.ListAsync("t", "p", new SessionQuery(Text: "SUMMARY 3"), CancellationToken.None)).Items.Select(r => r.SessionId));
        await Assert.ThrowsAsync<InvalidRequestException>(() => Catalog.ListAsync("t", "p", new SessionQuery(Cursor: "garbage!"), CancellationToken.None));
    }

    [Fact]
    public async Task Summaries_CompareAndSwap()
    {
        Assert.Equal(1, await Catalog.PutSummaryAsync("t", "p", "s", "{\"a\":1}", 10, 0, 0, CancellationToken.None));
        await Assert.ThrowsAsync<ConflictException>(() => Catalog.PutSummaryAsync("t", "p", "s", "{\"a\":2}", 11, 0, 0, CancellationToken.None));
        Assert.Equal(2, await Catalog.PutSummaryAsync("t", "p", "s", "{\"a\":3}", 12, 1, 0, CancellationToken.None));
        var stored = await Catalog.GetSummaryAsync("t", "p", "s", CancellationToken.None);
        Assert.Equal(new SummaryRecord("s", 12, "{\"a\":3}", 2), stored);
    }

    [Fact]
    public async Task Summaries_CompareAndSwap_RefusesASidecarOlderThanNotBefore()
    {
        Assert.Equal(1, await Catalog.PutSummaryAsync("t", "p", "nb", "{\"a\":1}", 100, 0, 0, CancellationToken.None));
        // The transcript was written at 150 since the sidecar (100): a fold over version 1 would miss that write.
        await Assert.ThrowsAsync<ConflictException>(() => Catalog.PutSummaryAsync("t", "p", "nb", "{\"a\":2}", 200, 1, 150, CancellationToken.None));
        Assert.Equal(new SummaryRecord("nb", 100, "{\"a\":1}", 1), await Catalog.GetSummaryAsync("t", "p", "nb", CancellationToken.None));
        Assert.Equal(2, await Catalog.PutSummaryAsync("t", "p", "nb", "{\"a\":3}", 200, 1, 100, CancellationToken.None));
    }

    [Fact]
    public async Task WriteSummaries_StoresTheGivenVersions_ReplacingWhatIsStored()
    {
        await Catalog.PutSummaryAsync("t", "p", "w1", "{\"old\":true}", 1, 0, 0, CancellationToken.None);
        await Catalog.WriteSummariesAsync([new TenantSummary("t", "p", new SummaryRecord("w1", 20, "{\"v\":7}", 7)), new TenantSummary("t", "p", new SummaryRecord("w2", 30, "{\"v\":3}", 3))], CancellationToken.None);
        Assert.Equal(new SummaryRecord("w1", 20, "{\"v\":7}", 7), await Catalog.GetSummaryAsync("t", "p", "w1", CancellationToken.None));
        Assert.Equal(new SummaryRecord("w2", 30, "{\"v\":3}", 3), await Catalog.GetSummaryAsync("t", "p", "w2", CancellationToken.None));
        Assert.Equal(8, await Catalog.PutSummaryAsync("t", "p", "w1", "{\"v\":8}", 40, 7, 20, CancellationToken.None));
    }

    [Fact]
    public async Task UpsertManyAndWriteSummaries_OfSeveralTenantsInOneCall_EachLandsUnderItsOwnTenant()
    {
        // A silo's write-behind flush carries the rows and sidecars of every tenant it holds, in one call.
        await Catalog.UpsertManyAsync([Row("m1", "p", "a", 10), Row("m2", "p", "b", 20, size: 30), Row("m1", "p", "c", 30)], CancellationToken.None);
        await Catalog.WriteSummariesAsync([new TenantSummary("m1", "p", new SummaryRecord("a", 10, "{\"t\":1}", 1)), new TenantSummary("m2", "p", new SummaryRecord("b", 20, "{\"t\":2}", 4))], CancellationToken.None);
        Assert.Equal(Catalog.AsStored(Row("m1", "p", "a", 10)), await Catalog.GetAsync("m1", "p", "a", CancellationToken.None));
        Assert.Equal(Catalog.AsStored(Row("m2", "p", "b", 20, size: 30)), await Catalog.GetAsync("m2", "p", "b", CancellationToken.None));
        Assert.NotNull(await Catalog.GetAsync("m1", "p", "c", CancellationToken.None));
        Assert.Null(await Catalog.GetAsync("m2", "p", "a", CancellationToken.None));
        Assert.Equal(new SummaryRecord("b", 20, "{\"t\":2}", 4), await Catalog.GetSummaryAsync("m2", "p", "b", CancellationToken.None));
        Assert.Null(await Catalog.GetSummaryAsync("m2", "p", "a", CancellationToken.None));
        await Catalog.UpsertManyAsync([], CancellationToken.None);
        await Catalog.WriteSummariesAsync([], CancellationToken.None);
    }

    [Fact]
    public async Task ListExpired_SkipsRecentHeldAndHoldTagged_OldestFirst()
    {
        await Catalog.UpsertAsync(Row("r", "p", "old", 100), CancellationToken.None);
        await Catalog.UpsertAsync(Row("r", "p", "older", 50), CancellationToken.None);
        await Catalog.UpsertAsync(Row("r", "p", "recent", 5000), CancellationToken.None);
        await Catalog.UpsertAsync(Row("r", "p", "held", 10), CancellationToken.None);
        await Catalog.UpsertAsync(Row("r", "p", "tagged", 10, tag: "legal-hold"), CancellationToken.None);
        await Catalog.UpsertAsync(Row("other", "p", "x", 1), CancellationToken.None);
        await Catalog.SetHoldAsync("r", "p", "held", "litigation", 1, CancellationToken.None);
        var expired = await Catalog.ListExpiredAsync("r", 1000, ["legal-hold"], 100, null, CancellationToken.None);
        Assert.Equal(["older", "old"], expired.Select(e => e.SessionId));
        Assert.True(await Catalog.RemoveHoldAsync("r", "p", "held", CancellationToken.None));
        Assert.Equal(["held", "older", "old"], (await Catalog.ListExpiredAsync("r", 1000, ["legal-hold"], 100, null, CancellationToken.None)).Select(e => e.SessionId));
    }

    [Fact]
    public async Task ListExpired_PagesByCursor_InOneOrder()
    {
        for (var i = 0; i < 25; i++)
        {
            await Catalog.UpsertAsync(Row("pg", i % 2 == 0 ? "a" : "b", $"s{i:D2}", i / 3), CancellationToken.None);
        }

        var seen = new List<string>();
        ExpiredCursor? after = null;
        while (await Catalog.ListExpiredAsync("pg", 1000, [], 4, after, CancellationToken.None) is { Count: > 0 } page)
        {
            seen.AddRange(page.Select(r => r.SessionId));
            after = new ExpiredCursor(page[^1].Mtime, page[^1].ProjectKey, page[^1].SessionId);
        }

        Assert.Equal(25, seen.Count);
        Assert.Equal(25, seen.Distinct().Count());
    }

    [Fact]
    public async Task Trash_MovesRowAndSidecar_AuditsOnce_AndRestoresVerbatim()
    {
        var row = Row("tr", "p", "old", 1, size: 10) with { Usage = "{\"output\":3}" };
        await Catalog.UpsertAsync(row, CancellationToken.None);
        await Catalog.UpsertAsync(Row("tr", "p", "kept", 1), CancellationToken.None);
        await Catalog.PutSummaryAsync("tr", "p", "old", "{\"b\":1,\"a\":[ 2 ],\"n\":\"x\\u0000y\"}", 7, 0, 0, CancellationToken.None);
        var entry = new TrashedSession("tr", "p", "old", 1, 10, 5000, "a title");
        Assert.True(await Catalog.MoveToTrashAsync(entry, "silo-1", CancellationToken.None));
        Assert.False(await Catalog.MoveToTrashAsync(entry, "silo-2", CancellationToken.None));

        // Invisible to every listing and to the SessionStore's sidecar reads.
        Assert.Null(await Catalog.GetAsync("tr", "p", "old", CancellationToken.None));
        Assert.Null(await Catalog.GetSummaryAsync("tr", "p", "old", CancellationToken.None));
        Assert.Empty(await Catalog.ListSummariesAsync("tr", "p", CancellationToken.None).ToListAsync());
        Assert.Equal(["kept"], (await Catalog.ListAsync("tr", "p", new SessionQuery(Limit: 10), CancellationToken.None)).Items.Select(r => r.SessionId));
        Assert.Equal(["kept"], await Catalog.ListMtimesAsync("tr", "p", CancellationToken.None).Select(m => m.SessionId).ToListAsync());
        Assert.Empty(await Catalog.FindAsync("tr", "old", CancellationToken.None));
        Assert.Equal(["kept"], (await Catalog.ListExpiredAsync("tr", 1000, [], 10, null, CancellationToken.None)).Select(r => r.SessionId));

        Assert.Equal(entry, await Catalog.GetTrashedAsync("tr", "p", "old", CancellationToken.None));
        Assert.Equal([entry], await Catalog.ListTrashAsync("tr", 5001, 10, CancellationToken.None));
        Assert.Empty(await Catalog.ListTrashAsync("tr", 5000, 10, CancellationToken.None));

        Assert.True(await Catalog.RestoreFromTrashAsync(row, 9000, "alice", CancellationToken.None));
        Assert.False(await Catalog.RestoreFromTrashAsync(row, 9001, "alice", CancellationToken.None));
        Assert.Equal(row with { Tenant = "tr" }, await Catalog.GetAsync("tr", "p", "old", CancellationToken.None));
        Assert.Equal(new SummaryRecord("old", 7, "{\"b\":1,\"a\":[ 2 ],\"n\":\"x\\u0000y\"}", 1), await Catalog.GetSummaryAsync("tr", "p", "old", CancellationToken.None));
        Assert.Null(await Catalog.GetTrashedAsync("tr", "p", "old", CancellationToken.None));
        // Restored: its age is counted from the restore, so a cut-off before it does not list it again.
        Assert.Equal(["kept"], (await Catalog.ListExpiredAsync("tr", 1000, [], 10, null, CancellationToken.None)).Select(r => r.SessionId));
        Assert.Equal(2, (await Catalog.ListExpiredAsync("tr", 9001, [], 10, null, CancellationToken.None)).Count);

        var audit = await Catalog.ListAuditAsync("tr", 10, CancellationToken.None);
        Assert.Equal([new AuditRecord("tr", "p", "old", 1, 10, 9000, "alice", AuditReasons.Restore), new AuditRecord("tr", "p", "old", 1, 10, 5000, "silo-1", AuditReasons.Retention)], audit);
    }

    [Fact]
    public async Task Trash_MovesOnlyTheRowAsItWasRead_AndNeverAHeldOne()
    {
        var ct = CancellationToken.None;
        await Catalog.UpsertAsync(Row("tc", "p", "s", 5, size: 10), ct);

        // Read at another mtime or size (written since), or held since: nothing moves, nothing is audited.
        Assert.False(await Catalog.MoveToTrashAsync(new TrashedSession("tc", "p", "s", 4, 10, 100, null), "n", ct));
        Assert.False(await Catalog.MoveToTrashAsync(new TrashedSession("tc", "p", "s", 5, 9, 100, null), "n", ct));
        await Catalog.SetHoldAsync("tc", "p", "s", "legal", 6, ct);
        Assert.False(await Catalog.MoveToTrashAsync(new TrashedSession("tc", "p", "s", 5, 10, 100, null), "n", ct));
        Assert.Equal(5, (await Catalog.GetAsync("tc", "p", "s", ct))?.Mtime);
        Assert.Empty(await Catalog.ListTrashAsync("tc", long.MaxValue, 10, ct));
        Assert.Empty(await Catalog.ListAuditAsync("tc", 10, ct));

        Assert.True(await Catalog.RemoveHoldAsync("tc", "p", "s", ct));
        Assert.True(await Catalog.MoveToTrashAsync(new TrashedSession("tc", "p", "s", 5, 10, 100, null), "n", ct));
        Assert.Null(await Catalog.GetAsync("tc", "p", "s", ct));
    }

    [Fact]
    public async Task Purge_ForgetsTheEntryOnce_AndErasureTakesTheTrashToo()
    {
        await Catalog.UpsertAsync(Row("pu", "p", "a", 1, size: 3), CancellationToken.None);
        await Catalog.UpsertAsync(Row("pu", "p", "b", 1, size: 4), CancellationToken.None);
        await Catalog.PutSummaryAsync("pu", "p", "a", "{}", 1, 0, 0, CancellationToken.None);
        Assert.True(await Catalog.MoveToTrashAsync(new TrashedSession("pu", "p", "a", 1, 3, 100, null), "n", CancellationToken.None));
        Assert.True(await Catalog.MoveToTrashAsync(new TrashedSession("pu", "p", "b", 1, 4, 100, null), "n", CancellationToken.None));
        Assert.True(await Catalog.PurgeTrashedAsync("pu", "p", "a", 200, "n", CancellationToken.None));
        Assert.False(await Catalog.PurgeTrashedAsync("pu", "p", "a", 201, "n", CancellationToken.None));
        Assert.Null(await Catalog.GetTrashedAsync("pu", "p", "a", CancellationToken.None));
        Assert.Null(await Catalog.GetSummaryAsync("pu", "p", "a", CancellationToken.None));
        Assert.Equal(1, (await Catalog.ListAuditAsync("pu", 10, CancellationToken.None)).Count(r => r.Reason == AuditReasons.Purge));

        // Deleting a trashed session (erasure) removes its trash entry; so does erasing the tenant.
        Assert.True(await Catalog.DeleteAsync("pu", "p", "b", CancellationToken.None));
        Assert.Empty(await Catalog.ListTrashAsync("pu", long.MaxValue, 10, CancellationToken.None));
        await Catalog.UpsertAsync(Row("pu", "p", "c", 1), CancellationToken.None);
        Assert.True(await Catalog.MoveToTrashAsync(new TrashedSession("pu", "p", "c", 1, 10, 100, null), "n", CancellationToken.None));
        await Catalog.DeleteTenantAsync("pu", CancellationToken.None);
        Assert.Empty(await Catalog.ListTrashAsync("pu", long.MaxValue, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Policies_AndTenants_RoundTrip()
    {
        Assert.Null(await Catalog.GetCleanupPeriodDaysAsync("pol", CancellationToken.None));
        await Catalog.SetCleanupPeriodDaysAsync("pol", 7, CancellationToken.None);
        await Catalog.SetCleanupPeriodDaysAsync("pol", 9, CancellationToken.None);
        Assert.Equal(9, await Catalog.GetCleanupPeriodDaysAsync("pol", CancellationToken.None));
        await Catalog.UpsertAsync(Row("pol", "p", "s", 1), CancellationToken.None);
        var tenants = new List<string>();
        await foreach (var t in Catalog.ListTenantsAsync(CancellationToken.None))
        {
            tenants.Add(t);
        }

        Assert.Contains("pol", tenants);
    }

    [Fact]
    public async Task Tenants_CreateGetLimitsUsageAndDelete()
    {
        var directory = Directory;
        await directory.CreateTenantAsync(new TenantRecord("acme", 5, new TenantLimits(MaxSessions: 10)), CancellationToken.None);
        await Assert.ThrowsAsync<ConflictException>(() => directory.CreateTenantAsync(new TenantRecord("acme", 6, new TenantLimits()), CancellationToken.None));
        Assert.Equal(new TenantRecord("acme", 5, new TenantLimits(MaxSessions: 10)), await directory.GetTenantAsync("acme", CancellationToken.None));
        Assert.True(await directory.SetLimitsAsync("acme", new TenantLimits(1, 2, 3, 4), CancellationToken.None));
        Assert.False(await directory.SetLimitsAsync("nobody", new TenantLimits(), CancellationToken.None));
        Assert.Equal(new TenantLimits(1, 2, 3, 4), (await directory.GetTenantAsync("acme", CancellationToken.None))!.Limits);
        await Catalog.UpsertAsync(Row("acme", "p", "a", 1, size: 100), CancellationToken.None);
        await Catalog.UpsertAsync(Row("acme", "q", "b", 1, size: 50), CancellationToken.None);
        await Catalog.UpsertAsync(Row("other", "p", "c", 1, size: 1000), CancellationToken.None);
        Assert.Equal(new TenantUsage(2, 150), await directory.GetUsageAsync("acme", CancellationToken.None));
        Assert.Contains(await directory.ListTenantRecordsAsync(CancellationToken.None), t => t.Tenant == "acme");
        await directory.DeleteTenantRecordAsync("acme", CancellationToken.None);
        Assert.Null(await directory.GetTenantAsync("acme", CancellationToken.None));
    }

    [Fact]
    public async Task Keys_AreStoredHashed_FoundById_AndRevokedOnlyByTheirTenant()
    {
        var directory = Directory;
        var (key, keyId, hash) = ApiKeys.Generate();
        await directory.CreateKeyAsync(new ApiKeyRecord(keyId, "acme", hash, [ApiScopes.Read, ApiScopes.Write], "ci", 7, null), CancellationToken.None);
        var found = await directory.FindKeyAsync(keyId, CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal([ApiScopes.Read, ApiScopes.Write], found!.Scopes);
        Assert.True(ApiKeys.TryParse(key, out var parsedId, out var secret) && parsedId == keyId && ApiKeys.Matches(secret, found.SecretHash));
        Assert.DoesNotContain(secret, found.SecretHash, StringComparison.Ordinal);
        Assert.False(await directory.RevokeKeyAsync("other", keyId, 8, CancellationToken.None));
        Assert.True(await directory.RevokeKeyAsync("acme", keyId, 9, CancellationToken.None));
        Assert.False(await directory.RevokeKeyAsync("acme", keyId, 10, CancellationToken.None));
        Assert.Equal(9, (await directory.FindKeyAsync(keyId, CancellationToken.None))!.RevokedAt);
        Assert.Single(await directory.ListKeysAsync("acme", CancellationToken.None));
        Assert.Empty(await directory.ListKeysAsync("other", CancellationToken.None));
    }

    [Fact]
    public async Task Delete_RemovesRowAndSummary()
    {
        await Catalog.UpsertAsync(Row("t", "p", "gone", 1), CancellationToken.None);
        await Catalog.PutSummaryAsync("t", "p", "gone", "{}", 1, 0, 0, CancellationToken.None);
        Assert.True(await Catalog.DeleteAsync("t", "p", "gone", CancellationToken.None));
        Assert.Null(await Catalog.GetAsync("t", "p", "gone", CancellationToken.None));
        Assert.Null(await Catalog.GetSummaryAsync("t", "p", "gone", CancellationToken.None));
    }
}

[Trait("Category", "Unit")]
public sealed class SqliteSessionCatalogTests : SessionCatalogConformance
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", "catalog-" + Guid.NewGuid().ToString("N") + ".db");
    private readonly SqliteSessionCatalog _catalog;

    public SqliteSessionCatalogTests() => _catalog = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = _path });

    protected override ISessionCatalog Catalog => _catalog;

    [Fact]
    public async Task ContentIndex_FromBeforeMessageIdsNamedTheirSession_IsNumberedAgain_AndStillFound()
    {
        await _catalog.InitializeAsync(CancellationToken.None);
        foreach (var sid in new[] { "one", "two" })
        {
            await _catalog.UpsertAsync(new SessionRecord { Tenant = "t", ProjectKey = "p", SessionId = sid, Mtime = 1, Size = 10, Listed = true }, CancellationToken.None);
        }

        // Messages as version 11 numbered them (one sequence for all sessions, interleaved), without the later columns, then the start migrates.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_path}"))
        {
            await connection.OpenAsync();
            await using var cmd = connection.CreateCommand();
            cmd.CommandText = """
                INSERT INTO messages (id, tenant, project_key, session_id, uuid, role, ts, text) VALUES
                    (1, 't', 'p', 'one', 'o1', 'user', 1, 'alpha words'), (2, 't', 'p', 'two', 't1', 'user', 1, 'alpha beta'),
                    (3, 't', 'p', 'one', 'o2', 'assistant', 2, 'beta gamma'), (4, 't', 'p', 'two', 't2', 'user', 2, 'alpha alpha alpha');
                ALTER TABLE sessions DROP COLUMN usage;
                PRAGMA user_version = 11;
                """;
            await cmd.ExecuteNonQueryAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await _catalog.InitializeAsync(CancellationToken.None);
        async Task<List<string>> Find(string q) =>
            [.. (await _catalog.SearchMessagesAsync("t", SearchQuery.Parse(q), null, 10, 0, CancellationToken.None)).Select(h => h.Session.SessionId + ": " + string.Join(' ', h.Messages.Select(m => m.Uuid)))];

        Assert.Equal(["two: t2 t1", "one: o1"], await Find("alpha"));
        Assert.Equal(["one: o2"], await Find("gamma"));

        // Later index writes go on in each session's own range: new messages and new words of old ones.
        await _catalog.IndexMessagesAsync("t", "p", "one", [new IndexedMessage("o3", "user", 3, "delta"), new IndexedMessage("o1", "user", 1, "delta epsilon")], 20, CancellationToken.None);
        await _catalog.UpsertAsync(new SessionRecord { Tenant = "t", ProjectKey = "p", SessionId = "three", Mtime = 1, Size = 10, Listed = true }, CancellationToken.None);
        await _catalog.IndexMessagesAsync("t", "p", "three", [new IndexedMessage("h1", "user", 3, "delta")], 10, CancellationToken.None);
        Assert.Equal(["one: o3 o1", "three: h1"], await Find("delta"));
        Assert.Equal(["two: t2 t1"], await Find("alpha"));
    }

    [Fact]
    public async Task ListRendered_GivesTheListingsPages_AsStoredRenderings_RenderingOlderRowsOnTheFly()
    {
        static byte[] Render(SessionRecord r) => System.Text.Encoding.UTF8.GetBytes($"{{\"id\":\"{r.SessionId}\",\"m\":{r.Mtime},\"t\":\"{r.Tag}\"}}");
        await _catalog.InitializeAsync(CancellationToken.None);
        // Rows written before renderings were kept, then rows written with them.
        await _catalog.UpsertAsync(new SessionRecord { Tenant = "t", ProjectKey = "p", SessionId = "old", Mtime = 1, Size = 1, Listed = true, Summary = "s" }, CancellationToken.None);
        var rendering = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = _path, RenderRow = Render });
        Assert.Null(await _catalog.ListRenderedAsync("t", "p", new SessionQuery(), CancellationToken.None));
        for (var i = 2; i <= 6; i++)
        {
            await rendering.UpsertAsync(new SessionRecord { Tenant = "t", ProjectKey = "p", SessionId = "s" + i, Mtime = i, Size = 1, Listed = true, Summary = "s", Tag = i % 2 == 0 ? "even" : null }, CancellationToken.None);
        }

        foreach (var query in new[] { new SessionQuery(Limit: 2), new SessionQuery(Limit: 10), new SessionQuery(Limit: 2, Tag: "even") })
        {
            var expected = new List<string>();
            var actual = new List<string>();
            for (string? cursor = null, renderedCursor = null; ;)
            {
                var page = await rendering.ListAsync("t", "p", query with { Cursor = cursor }, CancellationToken.None);
                var rendered = (await rendering.ListRenderedAsync("t", "p", query with { Cursor = renderedCursor }, CancellationToken.None))!;
                expected.AddRange(page.Items.Select(r => System.Text.Encoding.UTF8.GetString(Render(r))));
                actual.AddRange(rendered.Items.Select(b => System.Text.Encoding.UTF8.GetString(b)));
                Assert.Equal(page.NextCursor, rendered.NextCursor);
                (cursor, renderedCursor) = (page.NextCursor, rendered.NextCursor);
                if (cursor is null)
                {
                    break;
                }
            }

            Assert.Equal(expected, actual);
            Assert.NotEmpty(actual);
        }
    }

    [Fact]
    public async Task Writes_TakeTurnsInThisProcess_AFailedOneLetsTheNextIn_AndManyAtOnceAllLand()
    {
        await _catalog.InitializeAsync(CancellationToken.None);
        var key = new ApiKeyRecord("k1", "t", "hash", [ApiScopes.Read], "first", 1, null);
        await _catalog.CreateKeyAsync(key, CancellationToken.None);
        // A write that fails inside its transaction (the key id is taken) must still let the next write in.
        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => _catalog.CreateKeyAsync(key, CancellationToken.None));
        await _catalog.UpsertAsync(new SessionRecord { Tenant = "t", ProjectKey = "p", SessionId = "after", Mtime = 1, Size = 1, Listed = true }, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(30));

        // 48 writers at once, of three kinds, on one file: every one lands.
        await Task.WhenAll(Enumerable.Range(0, 16).SelectMany(i => new[]
        {
            _catalog.UpsertAsync(new SessionRecord { Tenant = "t", ProjectKey = "p", SessionId = "s" + i, Mtime = 10, Size = 1, Listed = true }, CancellationToken.None),
            _catalog.PutSummaryAsync("t", "p", "s" + i, "{}", 10, 0, 0, CancellationToken.None),
            _catalog.SetHoldAsync("t", "p", "h" + i, "legal", 10, CancellationToken.None),
        })).WaitAsync(TimeSpan.FromSeconds(60));
        for (var i = 0; i < 16; i++)
        {
            Assert.NotNull(await _catalog.GetAsync("t", "p", "s" + i, CancellationToken.None));
            Assert.NotNull(await _catalog.GetSummaryAsync("t", "p", "s" + i, CancellationToken.None));
            Assert.True(await _catalog.IsHeldAsync("t", "p", "h" + i, CancellationToken.None));
        }

        var moved = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            _catalog.MoveToTrashAsync(new TrashedSession("t", "p", "s" + i, 10, 1, 20, null), "node", CancellationToken.None)));
        Assert.All(moved, Assert.True);
        Assert.Equal(16, (await _catalog.ListTrashAsync("t", long.MaxValue, 100, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task GroupedWrites_OneThatFails_IsUndoneAlone_AndTheOthersQueuedBesideItCommit()
    {
        await _catalog.InitializeAsync(CancellationToken.None);
        static SessionRecord Row(string sid) => new() { Tenant = "t", ProjectKey = "p", SessionId = sid, Mtime = 1, Size = 1, Listed = true };
        static TrashedSession Trashed(string sid, long at) => new("t", "p", sid, 1, 1, at, null);

        // "dup" is in the trash and has a row again: moving it once more deletes its row, then fails on the trash's key.
        await _catalog.UpsertAsync(Row("dup"), CancellationToken.None);
        Assert.True(await _catalog.MoveToTrashAsync(Trashed("dup", 2), "node", CancellationToken.None));
        await _catalog.UpsertAsync(Row("dup"), CancellationToken.None);
        for (var i = 0; i < 64; i++)
        {
            await _catalog.UpsertAsync(Row("s" + i), CancellationToken.None);
        }

        // Queued at once, so they share transactions with the failing one.
        var moves = Enumerable.Range(0, 32).Select(i => _catalog.MoveToTrashAsync(Trashed("s" + i, 3), "node", CancellationToken.None)).ToList();
        var failing = _catalog.MoveToTrashAsync(Trashed("dup", 3), "node", CancellationToken.None);
        moves.AddRange(Enumerable.Range(32, 32).Select(i => _catalog.MoveToTrashAsync(Trashed("s" + i, 3), "node", CancellationToken.None)));
        var indexed = _catalog.IndexMessagesAsync("t", "p", "dup", [new IndexedMessage("m1", "user", 1, "grouped words")], 1, CancellationToken.None);

        await Assert.ThrowsAsync<Microsoft.Data.Sqlite.SqliteException>(() => failing);
        Assert.All(await Task.WhenAll(moves).WaitAsync(TimeSpan.FromSeconds(60)), Assert.True);
        await indexed;
        Assert.NotNull(await _catalog.GetAsync("t", "p", "dup", CancellationToken.None)); // its row's deletion was undone with it
        Assert.Equal(65, (await _catalog.ListTrashAsync("t", long.MaxValue, 100, CancellationToken.None)).Count);
        Assert.Equal(65, (await _catalog.ListAuditAsync("t", 100, CancellationToken.None)).Count);
        Assert.Single(await _catalog.SearchMessagesAsync("t", SearchQuery.Parse("grouped"), null, 10, 0, CancellationToken.None));

        // A write whose caller gave up before it ran is not written, and does not hold up the next.
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _catalog.PurgeTrashedAsync("t", "p", "s0", 4, "node", cancelled.Token));
        Assert.True(await _catalog.PurgeTrashedAsync("t", "p", "s1", 4, "node", CancellationToken.None));
        Assert.NotNull(await _catalog.GetTrashedAsync("t", "p", "s0", CancellationToken.None));
        Assert.Null(await _catalog.GetTrashedAsync("t", "p", "s1", CancellationToken.None));
    }

    [Fact]
    public async Task Initialize_Twice_IsSafe()
    {
        await _catalog.InitializeAsync(CancellationToken.None);
        await _catalog.InitializeAsync(CancellationToken.None);
        Assert.Null(await _catalog.GetAsync("t", "p", "s", CancellationToken.None));
    }
}

/// <summary>The conformance suite through <see cref="WriteBehindCatalog"/> (embedded mode's catalog) over SQLite.</summary>
[Trait("Category", "Unit")]
public sealed class WriteBehindSqliteCatalogTests : SessionCatalogConformance
{
    private readonly SqliteSessionCatalog _inner = new(new SqliteCatalogOptions { Path = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", "catalog-" + Guid.NewGuid().ToString("N") + ".db") });
    private readonly WriteBehindCatalog _catalog;

    public WriteBehindSqliteCatalogTests() => _catalog = new WriteBehindCatalog(_inner, TimeProvider.System, TimeSpan.FromMilliseconds(20));

    protected override ISessionCatalog Catalog => _catalog;

    protected override ITenantDirectory Directory => _inner;

    public override async Task DisposeAsync() => await _catalog.DisposeAsync();
}

/// <summary>A real PostgreSQL server for one test class.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public Sessions.Cluster.Testing.PostgresServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await Sessions.Cluster.Testing.PostgresServer.StartNewAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The catalog conformance suite on a real PostgreSQL, each test in a fresh database.</summary>
[Trait("Category", "Integration")]
public sealed class PostgresSessionCatalogTests(PostgresFixture postgres) : SessionCatalogConformance, IClassFixture<PostgresFixture>
{
    private Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog? _catalog;

    protected override ISessionCatalog Catalog => _catalog!;

    public override async Task InitializeAsync()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("c" + Guid.NewGuid().ToString("N"));
        _catalog = new Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog(new() { ConnectionString = connectionString });
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync() => await _catalog!.DisposeAsync();

    [Fact]
    public async Task RowWriterMarks_WrittenWithTheirRow_ListedOldestFirst_ClearedPerWriter_ErasedWithTheTenant()
    {
        var marks = (IRowWriterMarks)Catalog;
        await marks.UpsertMarkedAsync(Row("w1", "p", "s", 10), "silo-a", CancellationToken.None);
        await marks.UpsertMarkedAsync(Row("w2", "p", "s", 10, size: 20), "silo-b", CancellationToken.None);
        await marks.UpsertMarkedAsync(Row("w1", "p", "s", 11, size: 12), "silo-b", CancellationToken.None);
        await marks.UpsertMarkedAsync(Row("w1", "p", "s", 11, size: 12), "silo-b", CancellationToken.None);
        Assert.Equal(Catalog.AsStored(Row("w1", "p", "s", 11, size: 12)), await Catalog.GetAsync("w1", "p", "s", CancellationToken.None));
        Assert.Equal(Catalog.AsStored(Row("w2", "p", "s", 10, size: 20)), await Catalog.GetAsync("w2", "p", "s", CancellationToken.None));
        var listed = await marks.ListMarksAsync(10, CancellationToken.None);
        Assert.Equal([("w1", "silo-a"), ("w1", "silo-b"), ("w2", "silo-b")], listed.Select(m => (m.Tenant, m.Writer)).Order());
        Assert.Equal(listed.OrderBy(m => m.Since).Select(m => m.Since), listed.Select(m => m.Since));
        Assert.Single(await marks.ListMarksAsync(1, CancellationToken.None));

        await marks.ClearMarkAsync("w1", "p", "s", "silo-a", CancellationToken.None);
        await marks.ClearMarkAsync("w1", "p", "s", "silo-c", CancellationToken.None);
        Assert.Equal([("w1", "silo-b"), ("w2", "silo-b")], (await marks.ListMarksAsync(10, CancellationToken.None)).Select(m => (m.Tenant, m.Writer)).Order());
        await Catalog.DeleteTenantAsync("w2", CancellationToken.None);
        Assert.Equal([("w1", "silo-b")], (await marks.ListMarksAsync(10, CancellationToken.None)).Select(m => (m.Tenant, m.Writer)));
    }

    [Fact]
    public async Task Initialize_FromManyNodesAtOnce_MigratesOnce()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("m" + Guid.NewGuid().ToString("N"));
        var catalogs = Enumerable.Range(0, 6).Select(_ => new Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog(new() { ConnectionString = connectionString })).ToList();
        await Task.WhenAll(catalogs.Select(c => c.InitializeAsync(CancellationToken.None)));
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT count(*) = max(version) AND count(*) = count(DISTINCT version) AND count(*) >= 2 FROM schema_migrations", connection);
        Assert.Equal(true, await cmd.ExecuteScalarAsync());
        foreach (var c in catalogs)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task ContentSearch_UsesTheGinIndexUnderRowLevelSecurity_OnceTheMatchIsLeakproof()
    {
        Assert.True(_catalog!.ContentSearchUsesIndex);
        Assert.True(_catalog.RowLevelSecurityEnforced);
        const string match = "SET enable_seqscan = off; SET sessions.tenant = 't'; EXPLAIN SELECT uuid FROM message_text WHERE tsv @@ (SELECT to_tsquery('simple', 'word'))";
        Assert.Contains("ix_message_text_tsv", await PlanAsync(ConnectionString(_catalog), match), StringComparison.Ordinal);

        // Without the administrator's step the same match filters the tenant's rows instead, and the catalog says so.
        var plain = await postgres.Server.CreateDatabaseAsync("n" + Guid.NewGuid().ToString("N"), leakproofSearch: false);
        await using var scanning = new Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog(new() { ConnectionString = plain });
        await scanning.InitializeAsync(CancellationToken.None);
        Assert.False(scanning.ContentSearchUsesIndex);
        Assert.DoesNotContain("ix_message_text_tsv", await PlanAsync(plain, match), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContentSearch_WithoutTheLeakproofMatch_FindsTheSame()
    {
        await _catalog!.DisposeAsync();
        _catalog = new Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog(new() { ConnectionString = await postgres.Server.CreateDatabaseAsync("n" + Guid.NewGuid().ToString("N"), leakproofSearch: false) });
        await _catalog.InitializeAsync(CancellationToken.None);
        Assert.False(_catalog.ContentSearchUsesIndex);
        await ContentSearch_RanksSessionsByTheirMessages_WithMarkedSnippets_InOneTenant_AndForgetsWhatGoes();
    }

    private static string ConnectionString(Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog catalog) =>
        new Npgsql.NpgsqlConnectionStringBuilder(((Npgsql.NpgsqlDataSource)typeof(Sessions.Cluster.Catalog.PostgreSql.PostgresSessionCatalog)
            .GetField("_dataSource", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(catalog)!).ConnectionString).ToString();

    private static async Task<string> PlanAsync(string connectionString, string sql)
    {
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new Npgsql.NpgsqlCommand(sql, connection);
        var plan = new System.Text.StringBuilder();
        await using var reader = await cmd.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                plan.AppendLine(reader.GetValue(0).ToString());
            }
        }
        while (await reader.NextResultAsync());
        return plan.ToString();
    }

    [Fact]
    public async Task RowLevelSecurity_IsASecondWall_QueriesWithoutTheTenantSeeNothingOfIt()
    {
        await Catalog.UpsertAsync(new SessionRecord { Tenant = "a", ProjectKey = "p", SessionId = "secret", Mtime = 1, Size = 1, Listed = true }, CancellationToken.None);
        await Catalog.UpsertAsync(new SessionRecord { Tenant = "b", ProjectKey = "p", SessionId = "other", Mtime = 1, Size = 1, Listed = true }, CancellationToken.None);
        var connectionString = ConnectionString(_catalog!);
        await using var connection = new Npgsql.NpgsqlConnection(connectionString);
        await connection.OpenAsync();

        async Task<long> CountAsync(string? scope)
        {
            await using var cmd = new Npgsql.NpgsqlCommand(scope is null ? "SELECT count(*) FROM sessions" : $"SELECT set_config('sessions.tenant', '{scope}', false); SELECT count(*) FROM sessions", connection);
            await using var reader = await cmd.ExecuteReaderAsync();
            if (scope is not null)
            {
                await reader.NextResultAsync();
            }

            await reader.ReadAsync();
            return reader.GetInt64(0);
        }

        Assert.True(_catalog!.RowLevelSecurityEnforced);

        // A query with no tenant filter at all sees only the tenant it runs for.
        Assert.Equal(1, await CountAsync("b"));
        Assert.Equal(2, await CountAsync("*"));
        await using (var reset = new Npgsql.NpgsqlCommand("RESET sessions.tenant", connection))
        {
            await reset.ExecuteNonQueryAsync();
        }

        Assert.Equal(0, await CountAsync(null));
        await using var sneak = new Npgsql.NpgsqlCommand("SELECT set_config('sessions.tenant', 'b', false); INSERT INTO sessions (tenant, project_key, session_id, mtime, size, listed) VALUES ('a', 'p', 'planted', 1, 1, true)", connection);
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() => sneak.ExecuteNonQueryAsync());
    }

    [Fact]
    public async Task Summary_DataIsKeptVerbatim_KeyOrderAndSpacingIncluded()
    {
        const string data = "{\"z\":1,\"a\":{\"y\":[3, 2]},\"m\":\"é\"}";
        await Catalog.PutSummaryAsync("t", "p", "verbatim", data, 5, 0, 0, CancellationToken.None);
        Assert.Equal(data, (await Catalog.GetSummaryAsync("t", "p", "verbatim", CancellationToken.None))!.DataJson);
    }
}
