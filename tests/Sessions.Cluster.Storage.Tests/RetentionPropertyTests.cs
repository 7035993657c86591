using System.Text;
using Sessions.Cluster.Catalog.Sqlite;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Storage.FileSystem;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Storage.Tests;

/// <summary>
/// Retention over random histories (appends to main and subagent transcripts, holds, hold tags, policy changes, sweeps,
/// restores, days passing), against a model of what the rules allow. Real parts: the file-system store and the SQLite
/// catalog; the sweep asks <see cref="SessionService"/> directly, in one order, as the session grain does.
/// After every sweep: no session with activity inside its tenant's period (or restored inside it), held, or hold-tagged
/// went to the trash; every session the rules expire did; every trash entry past its grace was purged, once.
/// </summary>
[Trait("Category", "Unit")]
public sealed class RetentionPropertyTests
{
    private const long Day = 86_400_000;
    private const int GraceDays = 3;
    private static readonly string[] Tenants = ["ta", "tb"];

    [Fact]
    public async Task ASweepsListedRow_LosesToAWriteOrAHoldThatCameAfterIt()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var dir = RepoPaths.TempDir("retention-listed");
        var store = new FileSystemTranscriptStore(new FileSystemTranscriptStoreOptions { Root = Path.Combine(dir, "t"), FlushToDisk = false }, clock);
        var catalog = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = Path.Combine(dir, "catalog.db") });
        await catalog.InitializeAsync(CancellationToken.None);
        var limits = new EntryLimits();
        var sessions = new SessionService(store, catalog, clock, limits);
        var counter = 0;
        Task AppendAsync(string id) => sessions.AppendAsync(sessions.Open("t", "p", id), null,
            [EntryParser.ParseLine(Encoding.UTF8.GetBytes($"{{\"type\":\"user\",\"uuid\":\"u{counter++}\",\"sessionId\":\"{id}\",\"message\":{{\"role\":\"user\",\"content\":\"hi\"}}}}"), limits)],
            null, CancellationToken.None);
        Task<ExpireOutcome> ExpireAsync(SessionRecord listed, long cutoff) =>
            sessions.ExpireAsync(sessions.Open("t", "p", listed.SessionId), listed, cutoff, ["legal-hold"], false, "test", CancellationToken.None);

        foreach (var id in new[] { "written", "held", "idle" })
        {
            await AppendAsync(id);
        }

        clock.Advance(TimeSpan.FromDays(40));
        var cutoff = clock.GetUtcNow().AddDays(-30).ToUnixTimeMilliseconds();
        var listed = (await catalog.ListExpiredAsync("t", cutoff, ["legal-hold"], 10, null, CancellationToken.None)).ToDictionary(r => r.SessionId);
        Assert.Equal(["held", "idle", "written"], listed.Keys.Order());

        // After the listing: one session is written, one is held. The sweep decides on the rows it listed.
        await AppendAsync("written");
        await catalog.SetHoldAsync("t", "p", "held", "case", clock.GetUtcNow().ToUnixTimeMilliseconds(), CancellationToken.None);
        Assert.Equal(ExpireOutcome.Active, await ExpireAsync(listed["written"], cutoff));
        Assert.Equal(ExpireOutcome.Held, await ExpireAsync(listed["held"], cutoff));
        Assert.Equal(ExpireOutcome.Trashed, await ExpireAsync(listed["idle"], cutoff));
        // The same listed row once more (a sweep's page older than the session's last step): nothing left to move.
        Assert.Equal(ExpireOutcome.Missing, await ExpireAsync(listed["idle"], cutoff));

        Assert.Equal(["idle"], (await catalog.ListTrashAsync("t", long.MaxValue, 10, CancellationToken.None)).Select(e => e.SessionId));
        Assert.NotNull(await catalog.GetAsync("t", "p", "written", CancellationToken.None));
        Assert.NotNull(await catalog.GetAsync("t", "p", "held", CancellationToken.None));
        Assert.Single(await catalog.ListAuditAsync("t", 10, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => sessions.ExpireAsync(sessions.Open("t", "p", "held"), listed["written"], cutoff, [], false, "test", CancellationToken.None));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public async Task RandomHistories_NeverExpireActiveOrHeldSessions_AndPurgeEachExpiredOneOnceAfterItsGrace(int seed)
    {
        var random = new Random(seed);
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var dir = RepoPaths.TempDir($"retention-property-{seed}");
        var store = new FileSystemTranscriptStore(new FileSystemTranscriptStoreOptions { Root = Path.Combine(dir, "t"), FlushToDisk = false }, clock);
        var catalog = new SqliteSessionCatalog(new SqliteCatalogOptions { Path = Path.Combine(dir, "catalog.db") });
        await catalog.InitializeAsync(CancellationToken.None);
        var limits = new EntryLimits();
        var sessions = new SessionService(store, catalog, clock, limits);
        var options = new RetentionOptions { GraceDays = GraceDays, BatchSize = 7 };
        var retention = new RetentionService(catalog, clock, options);
        var expiry = new DirectExpiry(sessions, options);
        var model = new Dictionary<(string Tenant, string Id), Model>();
        var policy = Tenants.ToDictionary(t => t, _ => 30);
        var purgedOnce = new HashSet<(string, string)>();
        var counter = 0;
        long Now() => clock.GetUtcNow().ToUnixTimeMilliseconds();

        async Task AppendAsync(string tenant, string id, string? subpath)
        {
            var m = model.TryGetValue((tenant, id), out var found) ? found : model[(tenant, id)] = new Model();
            if (m.Trashed)
            {
                // As the grain does: a write to a trashed session brings it back first.
                await sessions.RestoreAsync(sessions.Open(tenant, "p", id), "append", CancellationToken.None);
                m.Trashed = false;
                m.RestoredAt = Now();
            }

            var line = EntryParser.ParseLine(Encoding.UTF8.GetBytes($"{{\"type\":\"user\",\"uuid\":\"u{counter++}\",\"sessionId\":\"{id}\",\"message\":{{\"role\":\"user\",\"content\":\"hi\"}}}}"), limits);
            await sessions.AppendAsync(sessions.Open(tenant, "p", id), subpath, [line], null, CancellationToken.None);
            m.LastActivity = Now();
        }

        for (var step = 0; step < 200; step++)
        {
            var tenant = Tenants[random.Next(Tenants.Length)];
            var live = model.Where(kv => kv.Key.Tenant == tenant && !kv.Value.Trashed && !kv.Value.Purged).Select(kv => kv.Key.Id).ToList();
            var trashed = model.Where(kv => kv.Key.Tenant == tenant && kv.Value.Trashed).Select(kv => kv.Key.Id).ToList();
            switch (random.Next(10))
            {
                case 0 or 1:
                    clock.Advance(TimeSpan.FromHours(random.Next(1, 24 * 12)));
                    break;
                case 2 when model.GetValueOrDefault((tenant, $"s{step % 14}"))?.Purged != true:
                    // A new session, or more on one (a purged session's id is not used again, so "once" stays checkable).
                    await AppendAsync(tenant, $"s{step % 14}", null);
                    break;
                case 3 when model.Keys.Any(k => k.Tenant == tenant && !model[k].Purged):
                    var target = model.Keys.Where(k => k.Tenant == tenant && !model[k].Purged).ElementAt(random.Next(model.Keys.Count(k => k.Tenant == tenant && !model[k].Purged)));
                    await AppendAsync(tenant, target.Id, random.Next(2) == 0 ? null : "subagents/agent-x");
                    break;
                case 4 when live.Count > 0:
                    var held = live[random.Next(live.Count)];
                    if (model[(tenant, held)].Held)
                    {
                        await catalog.RemoveHoldAsync(tenant, "p", held, CancellationToken.None);
                    }
                    else
                    {
                        await catalog.SetHoldAsync(tenant, "p", held, "case", Now(), CancellationToken.None);
                    }

                    model[(tenant, held)].Held ^= true;
                    break;
                case 5 when live.Count > 0:
                    var tagged = live[random.Next(live.Count)];
                    var legal = random.Next(2) == 0;
                    await sessions.TagAsync(sessions.Open(tenant, "p", tagged), legal ? "legal-hold" : null, CancellationToken.None);
                    model[(tenant, tagged)].LegalTag = legal;
                    model[(tenant, tagged)].LastActivity = Now();
                    break;
                case 6:
                    policy[tenant] = random.Next(1, 21);
                    await retention.SetPolicyAsync(tenant, policy[tenant], CancellationToken.None);
                    break;
                case 7 when trashed.Count > 0:
                    var restored = trashed[random.Next(trashed.Count)];
                    await sessions.RestoreAsync(sessions.Open(tenant, "p", restored), "test", CancellationToken.None);
                    model[(tenant, restored)].Trashed = false;
                    model[(tenant, restored)].RestoredAt = Now();
                    break;
                default:
                    foreach (var t in Tenants)
                    {
                        await SweepAndCheckAsync(t);
                    }

                    break;
            }
        }

        // The history exercised the rules: something expired and was purged, and something came back from the trash.
        Assert.NotEmpty(purgedOnce);
        Assert.Contains(model.Values, m => m.RestoredAt > 0);

        async Task SweepAndCheckAsync(string tenant)
        {
            var now = Now();
            var cutoff = now - (policy[tenant] * Day);
            var due = model.Where(kv => kv.Key.Tenant == tenant && kv.Value.Trashed && kv.Value.TrashedAt < now - (GraceDays * Day)).Select(kv => kv.Key.Id).ToHashSet();
            await retention.SweepTenantAsync(tenant, expiry, CancellationToken.None);
            foreach (var ((t, id), m) in model.Where(kv => kv.Key.Tenant == tenant && !kv.Value.Purged))
            {
                var inTrash = await catalog.GetTrashedAsync(t, "p", id, CancellationToken.None) is not null;
                var eligible = !m.Trashed && !m.Held && !m.LegalTag && Math.Max(m.LastActivity, m.RestoredAt) < cutoff;
                if (due.Contains(id))
                {
                    Assert.False(inTrash, $"{t}/{id} was due for purge and is still in the trash (seed {seed})");
                    Assert.Null(await store.StatAsync(t, new SessionKey("p", id), CancellationToken.None));
                    Assert.True(purgedOnce.Add((t, id)), $"{t}/{id} purged twice");
                    m.Purged = true;
                    m.Trashed = false;
                }
                else if (!m.Trashed && inTrash)
                {
                    Assert.True(eligible, $"{t}/{id} went to the trash though active ({m.LastActivity}/{m.RestoredAt} vs cut-off {cutoff}), held ({m.Held}) or tagged ({m.LegalTag}) (seed {seed})");
                    m.Trashed = true;
                    m.TrashedAt = now;
                }
                else
                {
                    Assert.False(eligible, $"{t}/{id} should have gone to the trash (seed {seed})");
                    Assert.Equal(m.Trashed, inTrash);
                }
            }

            var audit = await catalog.ListAuditAsync(tenant, 100_000, CancellationToken.None);
            Assert.All(audit.Where(a => a.Reason == AuditReasons.Purge).GroupBy(a => a.SessionId), g => Assert.Single(g));
        }
    }

    private sealed class Model
    {
        public long LastActivity { get; set; }

        public long RestoredAt { get; set; }

        public bool Held { get; set; }

        public bool LegalTag { get; set; }

        public bool Trashed { get; set; }

        public long TrashedAt { get; set; }

        public bool Purged { get; set; }
    }

    // The sweep's per-session steps asked of the session service directly (the grain adds only its one-at-a-time order).
    private sealed class DirectExpiry(SessionService sessions, RetentionOptions options) : ISessionExpiry
    {
        public Task<ExpireOutcome> ExpireAsync(string tenant, SessionRecord listed, long cutoff, CancellationToken cancellationToken) =>
            sessions.ExpireAsync(sessions.Open(tenant, listed.ProjectKey, listed.SessionId), listed, cutoff, options.HoldTags.ToList(), options.GraceDays == 0, "test", cancellationToken);

        public Task<PurgeOutcome> PurgeAsync(string tenant, string projectKey, string sessionId, long trashedBefore, CancellationToken cancellationToken) =>
            sessions.PurgeAsync(sessions.Open(tenant, projectKey, sessionId), trashedBefore, "test", cancellationToken);
    }
}
