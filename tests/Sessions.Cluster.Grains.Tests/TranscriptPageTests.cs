using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Grains.Tests;

/// <summary>
/// A transcript reader's model (the web console's) lives in the session's grain (three silos over Azurite): built once
/// per version of the transcript whichever silo asks, built again after an append, dropped by any other write, and only
/// the answer crosses silos; "what the model sees" comes with the SDK's chain.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class TranscriptPageTests(GrainClusterFixture fixture) : IClassFixture<GrainClusterFixture>
{
    [Fact]
    public async Task TheModel_IsBuiltOncePerVersion_WhicheverSiloAsks_AgainAfterAnAppend_AndDroppedByAnyOtherWrite()
    {
        var sessionId = Guid.NewGuid().ToString();
        var silos = fixture.Cluster.Silos.ToList();
        ISessionGrain Grain(int silo) => fixture.FactoryOf(silos[silo % silos.Count]).GetGrain<ISessionGrain>(SessionGrainKey.Format("pages", "proj", sessionId));
        var page = new TranscriptPageRequest(false, null, null, null, null);

        Assert.Equal("session_not_found", Assert.IsType<NotFoundException>((await Assert.ThrowsAsync<SessionFault>(() => Grain(0).GetTranscriptPage(page))).ToException()).Code);
        await Grain(0).Append(new AppendCommand(null, [Entry(sessionId, "u1"), Entry(sessionId, "u2")], null, null, null));
        var builds = CountingTranscriptReader.Builds(sessionId);
        var stored = (await fixture.SessionsOf(silos[0]).ReadStoredAsync("pages", new SessionKey("proj", sessionId), 0, 1 << 20, CancellationToken.None)).Length;
        for (var i = 0; i < 3; i++)
        {
            var answer = Read(await Grain(i).GetTranscriptPage(page));
            Assert.Equal(stored, answer["length"]!.GetValue<long>());
        }

        Assert.Equal(builds + 1, CountingTranscriptReader.Builds(sessionId));

        await Grain(1).Append(new AppendCommand(null, [Entry(sessionId, "u3")], null, null, null));
        Assert.Equal(3, Read(await Grain(2).GetTranscriptPage(page))["entries"]!.GetValue<int>());
        Assert.Equal(3, Read(await Grain(0).GetTranscriptPage(page))["entries"]!.GetValue<int>());
        Assert.Equal(builds + 2, CountingTranscriptReader.Builds(sessionId));

        await Grain(2).Rename("renamed");
        var renamed = Read(await Grain(1).GetTranscriptPage(page));
        Assert.Equal(4, renamed["entries"]!.GetValue<int>());
        Assert.Equal(builds + 3, CountingTranscriptReader.Builds(sessionId));

        // What the model sees: the SDK's chain comes with the query; the model is the same version's.
        var model = Read(await Grain(0).GetTranscriptPage(page with { ModelView = true, Search = "hello" }));
        Assert.Equal(3, model["chain"]!.GetValue<int>());
        Assert.Equal("hello", (string?)model["search"]);
        Assert.Equal(builds + 3, CountingTranscriptReader.Builds(sessionId));
    }

    [Fact]
    public async Task ATranscriptBeyondTheReadersSize_IsPagedFromTheSdksChain()
    {
        var sessionId = Guid.NewGuid().ToString();
        var grain = fixture.FactoryOf(fixture.Cluster.Silos[1]).GetGrain<ISessionGrain>(SessionGrainKey.Format("pages", "proj", sessionId));
        var big = Entry(sessionId, "u1", new string('x', (int)new CountingTranscriptReader().MaxTranscriptBytes));
        await grain.Append(new AppendCommand(null, [big, Entry(sessionId, "u2")], null, null, null));

        var answer = Read(await grain.GetTranscriptPage(new TranscriptPageRequest(false, null, null, null, null)));
        Assert.Equal(0, answer["entries"]!.GetValue<int>());
        Assert.Equal(2, answer["chain"]!.GetValue<int>());
    }

    private static JsonObject Read(JsonAnswer answer) => JsonNode.Parse(answer.Utf8)!.AsObject();

    // Each a child of the one before (the SDK's chain holds them all).
    private static EntryMessage Entry(string sessionId, string uuid, string? text = null) =>
        new(Encoding.UTF8.GetBytes(new JsonObject
        {
            ["type"] = "user", ["uuid"] = uuid, ["parentUuid"] = uuid == "u1" ? null : "u" + (uuid[1] - '1'), ["sessionId"] = sessionId,
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = text ?? "hello " + uuid },
        }.ToJsonString()), uuid);
}

/// <summary>A transcript reader that counts the models it builds (per session) and answers what it was given.</summary>
internal sealed class CountingTranscriptReader : ITranscriptReader
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Counts = new(StringComparer.Ordinal);

    public long MaxTranscriptBytes => 1 << 20;

    public static int Builds(string sessionId) => Counts.GetValueOrDefault(sessionId);

    public TranscriptReadModel Build(ReadOnlyMemory<byte>? transcript, long length)
    {
        var lines = transcript is { } bytes ? Encoding.UTF8.GetString(bytes.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
        var session = lines.Length > 0 ? (string?)JsonNode.Parse(lines[0])!["sessionId"] ?? "" : "";
        Counts.AddOrUpdate(session, 1, (_, n) => n + 1);
        return new Model(length, lines.Length);
    }

    public byte[] Answer(TranscriptReadModel model, TranscriptPageQuery query, IReadOnlyList<JsonObject>? modelView) =>
        JsonSerializer.SerializeToUtf8Bytes(new { length = model.Length, entries = ((Model)model).Entries, chain = modelView?.Count, search = query.Search });

    private sealed class Model(long length, int entries) : TranscriptReadModel
    {
        public override long Length => length;

        public override bool HasTranscript => entries > 0;

        public override long EstimatedBytes => 64;

        public int Entries => entries;
    }
}
