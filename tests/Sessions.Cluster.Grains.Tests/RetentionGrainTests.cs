using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Retention;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>
/// Retention on a three-silo TestingHost cluster over Azurite and PostgreSQL. Sessions are made old by importing them
/// with an old last activity (as <c>sessions import</c> does), and cut-offs are passed explicitly where a test needs
/// time to pass, so nothing sleeps; only the reminder test waits (at most seconds) for a reminder due one second after
/// registration.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class RetentionGrainTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private const string Project = "proj";
    private static readonly long DaysAgo40 = DateTimeOffset.UtcNow.AddDays(-40).ToUnixTimeMilliseconds();
    private readonly ConcurrentDictionary<(string Tenant, string Id), SessionRecord> _listed = new();

    [Fact]
    public async Task AReminderTick_ExpiresExactlyTheExpiredUnheldSessionsOfItsTenant()
    {
        var tenant = NewTenant();
        var other = NewTenant();
        var catalog = Catalog(fixture.Cluster.Silos[0]);
        var old = Ids("old", 20);
        var held = Ids("held", 3);
        var tagged = Ids("tagged", 3);
        var recent = Ids("recent", 3);
        // Holds first: the tenant's reminder is registered by its first write and ticks a second later.
        foreach (var id in held)
        {
            await catalog.SetHoldAsync(tenant, Project, id, "litigation", 1, CancellationToken.None);
        }

        foreach (var id in old.Concat(held))
        {
            await AppendAsync(tenant, id, null, $"{id}-1", DaysAgo40);
        }

        foreach (var id in tagged)
        {
            // Imported with its hold tag: as old as the others.
            var tag = new JsonObject { ["type"] = "tag", ["tag"] = "legal-hold", ["sessionId"] = id };
            await Grain(tenant, id).Append(new AppendCommand(null, [Entry(id, $"{id}-1"), new EntryMessage(Encoding.UTF8.GetBytes(tag.ToJsonString()), null)], null, null, DaysAgo40));
        }

        foreach (var id in recent)
        {
            await AppendAsync(tenant, id, null, $"{id}-1", null);
        }

        // Another tenant whose sessions are as old, under a 60-day policy: its own reminder leaves them alone.
        await catalog.SetCleanupPeriodDaysAsync(other, 60, CancellationToken.None);
        await AppendAsync(other, "kept", null, "kept-1", DaysAgo40);

        await fixture.FactoryOf(fixture.Cluster.Silos[1]).GetGrain<IRetentionGrain>(tenant).Start();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await catalog.ListTrashAsync(tenant, long.MaxValue, 100, CancellationToken.None)).Count < old.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "the reminder did not sweep within 90 s");
            await Task.Delay(250);
        }

        Assert.Equal(old.Order(), (await catalog.ListTrashAsync(tenant, long.MaxValue, 100, CancellationToken.None)).Select(t => t.SessionId).Order());
        foreach (var id in held.Concat(tagged).Concat(recent))
        {
            Assert.NotNull(await catalog.GetAsync(tenant, Project, id, CancellationToken.None));
        }

        Assert.NotNull(await catalog.GetAsync(other, Project, "kept", CancellationToken.None));
        Assert.Empty(await catalog.ListTrashAsync(other, long.MaxValue, 10, CancellationToken.None));
        var audit = await catalog.ListAuditAsync(tenant, 100, CancellationToken.None);
        Assert.Equal(old.Order(), audit.Select(a => a.SessionId).Order());
        Assert.All(audit, a => Assert.Equal(AuditReasons.Retention, a.Reason));
    }

    [Fact]
    public async Task AppendsDuringDuplicatedSweeps_Survive_AndNothingIsExpiredOrAuditedTwice()
    {
        var tenant = NewTenant();
        var silos = fixture.Cluster.Silos;
        var ids = Ids("s", 240);
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
        {
            // Main first, as every import does (a subagent transcript never starts a session). The tenant's reminder
            // may tick between the two: the subagent's append then brings the session back (audited as a restore).
            await AppendAsync(tenant, id, null, $"{id}-1", DaysAgo40);
            await AppendAsync(tenant, id, "subagents/agent-a1", $"{id}-sub-1", DaysAgo40);
        });
        // A session restored that way is young again (its age counts from the restore): a sweep below may spare it.
        var restoredInSetup = (await Catalog(silos[0]).ListAuditAsync(tenant, 10_000, CancellationToken.None))
            .Where(a => a.Reason == AuditReasons.Restore).Select(a => a.SessionId).ToHashSet();

        // Two sweeps of the tenant asked on different silos (a tick delivered twice; the tenant's reminder ticks as well),
        // while writers append to the main transcript or the subagent transcript of one session in four.
        var written = ids.Where((_, i) => i % 4 == 0).ToList();
        var acknowledged = new ConcurrentBag<(string Id, string? Subpath, string Uuid)>();
        var sweeps = Enumerable.Range(0, 2).Select(i => fixture.FactoryOf(silos[i]).GetGrain<IRetentionGrain>(tenant).Sweep()).ToList();
        var writers = Parallel.ForEachAsync(written, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, _) =>
        {
            var subpath = id.GetHashCode(StringComparison.Ordinal) % 2 == 0 ? null : "subagents/agent-a1";
            var uuid = $"{id}-late";
            await Grain(tenant, id, silos[2]).Append(new AppendCommand(subpath, [Entry(id, uuid)], null, null, null));
            acknowledged.Add((id, subpath, uuid));
        });
        var reports = await Task.WhenAll(sweeps);
        await writers;

        var catalog = Catalog(silos[0]);
        var trashed = (await catalog.ListTrashAsync(tenant, long.MaxValue, 1000, CancellationToken.None)).Select(t => t.SessionId).ToHashSet();
        Assert.Equal(written.Count, acknowledged.Count);
        foreach (var (id, subpath, uuid) in acknowledged)
        {
            // Written before its expiry (so never expired) or after it (so brought back): live, with the entry.
            Assert.DoesNotContain(id, trashed);
            Assert.Contains(uuid, await ReadAsync(tenant, id, subpath));
            Assert.NotNull(await catalog.GetAsync(tenant, Project, id, CancellationToken.None));
        }

        Assert.Subset(ids.Except(written).ToHashSet(), trashed);
        Assert.Superset(ids.Except(written).Except(restoredInSetup).ToHashSet(), trashed);
        var audit = await catalog.ListAuditAsync(tenant, 10_000, CancellationToken.None);
        Assert.All(audit.Where(a => a.Reason == AuditReasons.Retention).GroupBy(a => a.SessionId), g => Assert.Single(g));
        // The tenant's own reminder (due a second after its first write) sweeps too: between them, each expiry once.
        Assert.InRange(reports.Sum(r => r.Expired), 0, audit.Count(a => a.Reason == AuditReasons.Retention));
        Assert.Equal(audit.Count(a => a.Reason == AuditReasons.Retention) - trashed.Count, audit.Count(a => a.Reason == AuditReasons.Restore));
    }

    [Fact]
    public async Task TrashRestore_IsByteIdentical_AndPurgeAfterTheGrace_LeavesNoByteInEitherStore()
    {
        var tenant = NewTenant();
        var id = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos;
        await AppendAsync(tenant, id, null, "m1", null);
        await AppendAsync(tenant, id, null, "m2", null);
        await AppendAsync(tenant, id, "subagents/agent-a1", "a1", null);
        await AppendAsync(tenant, id, "subagents/workflows/w1/agent-a2", "a2", null);
        var grain = Grain(tenant, id, silos[1]);
        await grain.Rename("Design review");
        await grain.Tag("keep-an-eye");
        await grain.PutSummary("{\"n\":1,\"z\":\"é\"}", 1234, 0);
        var before = await SnapshotAsync(tenant, id);

        var cutoff = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds();
        Assert.Equal(ExpireOutcome.Trashed, await ExpireAsync(grain, tenant, id, cutoff));
        Assert.Equal(ExpireOutcome.Missing, await ExpireAsync(Grain(tenant, id, silos[2]), tenant, id, cutoff));

        // In the trash: answers as a session that does not exist, on every silo.
        Assert.Equal("session_not_found", Assert.IsType<NotFoundException>((await Assert.ThrowsAsync<SessionFault>(() => Grain(tenant, id, silos[0]).GetInfo())).ToException()).Code);
        Assert.Null((await Grain(tenant, id, silos[2]).GetView(null, null)).Length);
        Assert.Empty(await Grain(tenant, id, silos[1]).ListSubkeys());
        Assert.Null(await Catalog(silos[0]).GetSummaryAsync(tenant, Project, id, CancellationToken.None));
        Assert.Empty(await fixture.QueriesOf(silos[0]).ListSessionMtimesAsync(tenant, Project, CancellationToken.None).ToListAsync());

        await Grain(tenant, id, silos[2]).Restore("test");
        Assert.Equal(2, (await Grain(tenant, id, silos[1]).ListSubkeys()).Length);
        Assert.Equal(before, await SnapshotAsync(tenant, id));
        var info = (await grain.GetInfo());
        Assert.Equal(("Design review", "keep-an-eye"), (info.CustomTitle, info.Tag));

        // Expired again; the grace period (7 days) ends; the purge removes everything, audited once.
        Assert.Equal(ExpireOutcome.Trashed, await ExpireAsync(grain, tenant, id, cutoff));
        var afterGrace = DateTimeOffset.UtcNow.AddDays(8).ToUnixTimeMilliseconds();
        Assert.Equal(PurgeOutcome.NotDue, await grain.Purge(DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeMilliseconds()));
        Assert.Equal(PurgeOutcome.Purged, await Grain(tenant, id, silos[0]).Purge(afterGrace));
        Assert.Equal(PurgeOutcome.NotInTrash, await grain.Purge(afterGrace));

        var container = new BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(fixture.BlobOptions.Container);
        var blobs = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, tenant + "/", CancellationToken.None))
        {
            blobs.Add(blob.Name);
        }

        Assert.Empty(blobs);
        await using var connection = new NpgsqlConnection(fixture.CatalogConnection);
        await connection.OpenAsync();
        await using (var scope = new NpgsqlCommand("SELECT set_config('sessions.tenant', '*', false)", connection))
        {
            await scope.ExecuteNonQueryAsync();
        }

        foreach (var table in new[] { "sessions", "summaries", "trash", "holds" })
        {
            await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE tenant = $1", connection) { Parameters = { new() { Value = tenant } } };
            Assert.True((long)(await count.ExecuteScalarAsync())! == 0, $"{table} still holds rows of {tenant}");
        }

        var audit = await Catalog(silos[0]).ListAuditAsync(tenant, 10, CancellationToken.None);
        Assert.Equal(["purge", "retention", "restore", "retention"], audit.Select(a => a.Reason));
    }

    [Fact]
    [Trait("Category", "Retention")]
    public async Task ASubagentAppend_AfterAPurge_IsRefused_ToATrashedSession_Restores_AndNoSubpathOutlivesItsMain()
    {
        var tenant = NewTenant();
        var silos = fixture.Cluster.Silos;
        var cutoff = DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeMilliseconds();
        var afterGrace = DateTimeOffset.UtcNow.AddDays(8).ToUnixTimeMilliseconds();

        // Purged while its subagent still writes: the late subagent append is refused, and no file is left behind.
        var purged = Guid.NewGuid().ToString();
        await AppendAsync(tenant, purged, null, "m1", null);
        await AppendAsync(tenant, purged, "subagents/agent-a1", "a1", null);
        Assert.Equal(ExpireOutcome.Trashed, await ExpireAsync(Grain(tenant, purged, silos[1]), tenant, purged, cutoff));
        Assert.Equal(PurgeOutcome.Purged, await Grain(tenant, purged, silos[1]).Purge(afterGrace));
        var refused = await Assert.ThrowsAsync<SessionFault>(() => Grain(tenant, purged, silos[2]).Append(new AppendCommand("subagents/agent-a1", [Entry(purged, "a2")], null, null, null)));
        Assert.Equal("session_not_found", Assert.IsType<NotFoundException>(refused.ToException()).Code);
        Assert.Empty(await BlobsAsync(tenant));

        // A session that never existed: the same refusal; an empty batch is still an answer, not an error.
        var never = Guid.NewGuid().ToString();
        await Assert.ThrowsAsync<SessionFault>(() => Grain(tenant, never).Append(new AppendCommand("subagents/agent-x", [Entry(never, "x1")], null, null, null)));
        Assert.Equal(0, (await Grain(tenant, never).Append(new AppendCommand("subagents/agent-x", [], null, null, null))).Length);
        Assert.Empty(await BlobsAsync(tenant));

        // In the trash: a subagent append brings the session back, as a main append does.
        var trashed = Guid.NewGuid().ToString();
        await AppendAsync(tenant, trashed, null, "t1", null);
        Assert.Equal(ExpireOutcome.Trashed, await ExpireAsync(Grain(tenant, trashed), tenant, trashed, cutoff));
        await AppendAsync(tenant, trashed, "subagents/agent-b", "b1", null);
        Assert.NotNull(await Catalog(silos[0]).GetAsync(tenant, Project, trashed, CancellationToken.None));
        Assert.Empty(await Catalog(silos[0]).ListTrashAsync(tenant, long.MaxValue, 10, CancellationToken.None));
        Assert.Equal(["b1"], await ReadAsync(tenant, trashed, "subagents/agent-b"));

        // A row whose main transcript vanished behind the catalog's back: retention removes the row and its subpaths.
        var store = fixture.Cluster.GetSiloServiceProvider(silos[0].SiloAddress).GetRequiredService<ITranscriptStore>();
        var blobs = await BlobsAsync(tenant);
        Assert.Contains(blobs, b => b.Contains("agent-b", StringComparison.Ordinal));
        var container = new BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(fixture.BlobOptions.Container);
        foreach (var main in blobs.Where(b => !b.Contains("/subagents/", StringComparison.Ordinal)))
        {
            await container.DeleteBlobAsync(main);
        }

        Assert.Equal(ExpireOutcome.Missing, await ExpireAsync(Grain(tenant, trashed, silos[1]), tenant, trashed, cutoff));
        Assert.Null(await Catalog(silos[0]).GetAsync(tenant, Project, trashed, CancellationToken.None));
        Assert.Empty(await store.ListSubpathsAsync(tenant, Project, trashed, CancellationToken.None));
        Assert.Empty(await BlobsAsync(tenant));
    }

    private async Task<List<string>> BlobsAsync(string tenant)
    {
        var container = new BlobServiceClient(fixture.Azurite.ConnectionString).GetBlobContainerClient(fixture.BlobOptions.Container);
        var blobs = new List<string>();
        await foreach (var blob in container.GetBlobsAsync(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, tenant + "/", CancellationToken.None))
        {
            blobs.Add(blob.Name);
        }

        return blobs;
    }

    // Every log's bytes, the sidecar and the row: what a restore must bring back unchanged.
    private async Task<string> SnapshotAsync(string tenant, string id)
    {
        var silo = fixture.Cluster.Silos[0];
        var store = fixture.Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<ITranscriptStore>();
        var text = new StringBuilder();
        foreach (var subpath in new string?[] { null }.Concat(await store.ListSubpathsAsync(tenant, Project, id, CancellationToken.None)))
        {
            text.Append(subpath ?? "main").Append(": ").AppendLine(string.Join("|", await ReadAsync(tenant, id, subpath, raw: true)));
        }

        var summary = await Catalog(silo).GetSummaryAsync(tenant, Project, id, CancellationToken.None);
        text.AppendLine($"summary: {summary}");
        var row = await Catalog(silo).GetAsync(tenant, Project, id, CancellationToken.None);
        text.AppendLine($"row: {row!.Size} {row.Mtime} {row.CustomTitle} {row.Tag} {row.FirstPrompt} {row.Summary}");
        return text.ToString();
    }

    private async Task<List<string>> ReadAsync(string tenant, string id, string? subpath, bool raw = false)
    {
        var silo = fixture.Cluster.Silos[0];
        var grain = Grain(tenant, id, silo);
        var opened = await fixture.SessionsOf(silo).OpenTranscriptAsync(tenant, new SessionKey(Project, id, subpath), CancellationToken.None, async (key, _) => (await grain.GetView(key.Subpath, null)).ToLogView());
        Assert.NotNull(opened);
        await using var stream = opened.Value.Content;
        using var reader = new StreamReader(stream);
        var lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return raw ? [.. lines] : lines.Select(l => JsonNode.Parse(l)!["uuid"]?.GetValue<string>() ?? "").ToList();
    }

    private Task AppendAsync(string tenant, string id, string? subpath, string uuid, long? lastActivity) =>
        Grain(tenant, id).Append(new AppendCommand(subpath, [Entry(id, uuid)], null, null, lastActivity));

    // Asks the grain to expire as a sweep does, handing it the row as the catalog lists it now (or as it was last
    // listed, once it is gone: a sweep's page can be older than the session's last step).
    private async Task<ExpireOutcome> ExpireAsync(ISessionGrain grain, string tenant, string id, long cutoff)
    {
        var catalog = Catalog(fixture.Cluster.Silos[0]);
        var row = await catalog.GetAsync(tenant, Project, id, CancellationToken.None);
        if (row is not null)
        {
            _listed[(tenant, id)] = row;
        }

        return await grain.Expire(cutoff, row ?? _listed[(tenant, id)]);
    }

    private ISessionGrain Grain(string tenant, string id, Orleans.TestingHost.InProcessSiloHandle? silo = null) =>
        fixture.FactoryOf(silo ?? fixture.Cluster.Silos[0]).GetGrain<ISessionGrain>(SessionGrainKey.Format(tenant, Project, id));

    private ISessionCatalog Catalog(Orleans.TestingHost.InProcessSiloHandle silo) =>
        fixture.Cluster.GetSiloServiceProvider(silo.SiloAddress).GetRequiredService<ISessionCatalog>();

    private static string NewTenant() => "ret-" + Guid.NewGuid().ToString("N")[..10];

    private static List<string> Ids(string prefix, int count) => Enumerable.Range(0, count).Select(i => $"{prefix}-{i:D3}").ToList();

    private static EntryMessage Entry(string sessionId, string uuid)
    {
        var json = new JsonObject
        {
            ["type"] = "user",
            ["uuid"] = uuid,
            ["sessionId"] = sessionId,
            ["timestamp"] = "2026-10-01T10:00:00.000Z",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = $"prompt {uuid}" },
        };
        return new EntryMessage(Encoding.UTF8.GetBytes(json.ToJsonString()), uuid);
    }
}
