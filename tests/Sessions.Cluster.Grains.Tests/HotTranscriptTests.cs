using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>
/// A hot log's bytes kept in its grain's memory (three silos over Azurite): every view equals the stored bytes at its
/// length, through appends from other silos, a rename, a subpath, a delete and a new session under the same id; the
/// bytes come with a view only to a caller on the grain's own silo (they never cross silos, DESIGN §3); a log past the
/// size limit is read from storage.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class HotTranscriptTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    private const string Tenant = "hot";
    private const string Project = "proj";

    [Fact]
    public async Task EveryView_EqualsTheStoredBytes_ThroughAppendsFromOtherSilos_ARename_ADelete_AndANewSessionUnderTheSameId()
    {
        var sessionId = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos.ToList();
        ISessionGrain Grain(int silo) => fixture.FactoryOf(silos[silo % silos.Count]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));

        await Grain(0).Append(Batch(sessionId, "a", 3));
        await AssertViewsAreStoredAsync(sessionId, null);

        for (var i = 0; i < 5; i++)
        {
            await Grain(i).Append(Batch(sessionId, $"b{i}", 2));
            await AssertViewsAreStoredAsync(sessionId, null);
        }

        await Grain(2).Append(Batch(sessionId, "sub", 2) with { Subpath = "subagents/agent-x" });
        await AssertViewsAreStoredAsync(sessionId, "subagents/agent-x");

        await Grain(1).Rename("Renamed while hot");
        var renamed = await AssertViewsAreStoredAsync(sessionId, null);
        Assert.Contains("Renamed while hot", Encoding.UTF8.GetString(renamed.Inline!.Value.Span), StringComparison.Ordinal);

        Assert.True(await Grain(0).Delete(null, "test"));
        Assert.Null((await Grain(1).GetView(null, silos[1].SiloAddress)).Length);
        await Grain(2).Append(Batch(sessionId, "again", 1));
        var again = await AssertViewsAreStoredAsync(sessionId, null);
        Assert.DoesNotContain("\"a0\"", Encoding.UTF8.GetString(again.Inline!.Value.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALogPastTheSizeLimit_IsReadFromStorage()
    {
        var sessionId = Guid.NewGuid().ToString();
        var big = new string('x', (int)fixture.HotTranscriptBytes);
        await fixture.FactoryOf(fixture.Cluster.Silos[0]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId))
            .Append(new AppendCommand(null, [Entry(sessionId, "big", big)], null, null, null));
        foreach (var silo in fixture.Cluster.Silos)
        {
            var view = await fixture.FactoryOf(silo).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId)).GetView(null, silo.SiloAddress);
            Assert.Null(view.Inline);
            Assert.Equal((await Stored(sessionId, null)).Length, view.Length);
        }
    }

    [Fact]
    public async Task Messages_AreAnsweredByTheGrain_TheSameFromEverySilo_AndFollowAppendsARenameAndADelete()
    {
        var sessionId = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos.ToList();
        ISessionGrain Grain(int silo) => fixture.FactoryOf(silos[silo % silos.Count]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        var key = new SessionKey(Project, sessionId);

        await Grain(0).Append(Chain(sessionId, "m", 0, 6));
        await AssertPagesAsync(0, 6);
        await Grain(1).Append(Chain(sessionId, "m", 6, 3));
        await AssertPagesAsync(1, 9);
        await Grain(2).Rename("Renamed with messages kept");
        await AssertPagesAsync(2, 9);

        // An edit: a new user entry branching from m3 moves the chain off the kept messages' last ones.
        await Grain(0).Append(Chain(sessionId, "m", 4, 1) with { Entries = [Entry(sessionId, "edit", "an edited prompt", "m3")] });
        await AssertPagesAsync(0, 5);

        Assert.True(await Grain(0).Delete(null, "test"));
        var gone = Assert.IsType<NotFoundException>((await Assert.ThrowsAsync<SessionFault>(() => Grain(1).GetMessages(null, false, 0, null))).ToException());
        Assert.Equal("session_not_found", gone.Code);

        // Every silo's answer, whole and paged, equals the messages built from storage by the session service.
        async Task AssertPagesAsync(int round, int count)
        {
            var expected = (await fixture.SessionsOf(silos[0]).GetMessagesAsync(Tenant, key, false, 0, null, CancellationToken.None)).Select(m => m.ToJsonString()).ToList();
            Assert.Equal(count, expected.Count);
            for (var i = 0; i < silos.Count; i++)
            {
                Assert.Equal(expected, Items(await Grain(round + i).GetMessages(null, false, 0, null)));
                Assert.Equal(expected.Skip(2).Take(3), Items(await Grain(round + i).GetMessages(null, false, 2, 3)));
            }
        }
    }

    [Fact]
    public async Task Messages_OfALogPastTheHotLimit_AreKeptAndFollowAppends_ReadAsRanges()
    {
        // No hot bytes for a log this big: the grain reads what was appended since its last answer as a range.
        var sessionId = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos.ToList();
        ISessionGrain Grain(int silo) => fixture.FactoryOf(silos[silo % silos.Count]).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
        var key = new SessionKey(Project, sessionId);
        await Grain(0).Append(new AppendCommand(null, [Entry(sessionId, "m0", new string('x', (int)fixture.HotTranscriptBytes))], null, null, null));
        for (var i = 1; i < 6; i++)
        {
            await Grain(i).Append(new AppendCommand(null, [Entry(sessionId, $"m{i}", $"turn {i}", $"m{i - 1}")], null, null, null));
            var expected = (await fixture.SessionsOf(silos[0]).GetMessagesAsync(Tenant, key, true, 0, null, CancellationToken.None)).Select(m => m.ToJsonString()).ToList();
            Assert.Equal(i + 1, expected.Count);
            Assert.Null((await Grain(i).GetView(null, silos[i % silos.Count].SiloAddress)).Inline);
            Assert.Equal(expected, Items(await Grain(i + 1).GetMessages(null, true, 0, null)));
        }
    }

    private static List<string> Items(JsonAnswer answer) => JsonNode.Parse(answer.Utf8)!.AsArray().Select(m => m!.ToJsonString()).ToList();

    private static AppendCommand Chain(string sessionId, string prefix, int from, int count) =>
        new(null, [.. Enumerable.Range(from, count).Select(i => new EntryMessage(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["type"] = i % 2 == 0 ? "user" : "assistant",
            ["uuid"] = $"{prefix}{i}",
            ["parentUuid"] = i == 0 ? null : $"{prefix}{i - 1}",
            ["sessionId"] = sessionId,
            ["timestamp"] = "2026-11-28T10:00:00.000Z",
            ["message"] = new JsonObject { ["role"] = i % 2 == 0 ? "user" : "assistant", ["content"] = $"text {i}" },
        }.ToJsonString()), $"{prefix}{i}"))], null, null, null);

    // Asked from every silo as that silo's node asks: each view's length is storage's whole committed length; exactly
    // one view (the grain's own silo's) carries the bytes, equal to storage's; the others carry none.
    private async Task<TranscriptView> AssertViewsAreStoredAsync(string sessionId, string? subpath)
    {
        var stored = await Stored(sessionId, subpath);
        var views = new List<TranscriptView>();
        foreach (var silo in fixture.Cluster.Silos)
        {
            var grain = fixture.FactoryOf(silo).GetGrain<ISessionGrain>(SessionGrainKey.Format(Tenant, Project, sessionId));
            var view = await grain.GetView(subpath, silo.SiloAddress);
            Assert.Equal(stored.Length, view.Length);
            views.Add(view);
        }

        var local = Assert.Single(views, v => v.Inline is not null);
        Assert.Equal(stored, local.Inline!.Value.ToArray());
        return local;
    }

    private async Task<byte[]> Stored(string sessionId, string? subpath)
    {
        var sessions = fixture.SessionsOf(fixture.Cluster.Silos[0]);
        var stat = await sessions.GetViewAsync(Tenant, new SessionKey(Project, sessionId, subpath), CancellationToken.None);
        return await sessions.ReadStoredAsync(Tenant, new SessionKey(Project, sessionId, subpath), 0, stat.Length ?? 0, CancellationToken.None);
    }

    private static AppendCommand Batch(string sessionId, string prefix, int count) =>
        new(null, [.. Enumerable.Range(0, count).Select(i => Entry(sessionId, $"{prefix}{i}", $"text of {prefix}{i}"))], null, null, null);

    private static EntryMessage Entry(string sessionId, string uuid, string text, string? parent = null) =>
        new(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["type"] = "user",
            ["uuid"] = uuid,
            ["parentUuid"] = parent,
            ["sessionId"] = sessionId,
            ["timestamp"] = "2026-11-28T10:00:00.000Z",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = text },
        }.ToJsonString()), uuid);
}
