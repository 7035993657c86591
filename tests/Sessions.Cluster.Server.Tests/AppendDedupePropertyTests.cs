using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The append rule (AppendPlan) over random histories, with the SDK's own InMemorySessionStore as the oracle
/// (issue 22 §5): new batches of fresh uuid entries and uuid-less tags and titles (from a small vocabulary, so they
/// often equal stored lines) interleaved with retries of earlier batches. A retry writes nothing, so the store must
/// load exactly what InMemorySessionStore loads after the new batches alone. Then a diverged local file (the log as it
/// was earlier, plus local lines) is imported twice: the second import changes nothing.
/// </summary>
[Trait("Category", "Integration")]
public sealed class AppendDedupePropertyTests
{
    private const int Histories = 300;
    private static readonly SessionKey Key = new("p", "00000000-0000-4000-8000-000000000000");
    private static readonly string[] Vocabulary = ["x", "y", "z"];

    [Fact]
    [Trait("Category", "Integration")]
    public async Task RandomReplaysAndUuidlessLines_LoadAsTheSdksInMemorySessionStore_AndADivergedImportIsIdempotent()
    {
        var random = new Random(22_05);
        var cases = new JsonArray();
        var ours = new List<List<string>>();
        var imports = 0;
        for (var h = 0; h < Histories; h++)
        {
            var store = new MemoryTranscriptStore(TimeProvider.System);
            var sent = new List<JsonObject[]>();
            var fresh = new JsonArray();
            var uuids = 0;
            var snapshots = new List<int>();
            for (var op = random.Next(2, 12); op > 0; op--)
            {
                snapshots.Add((await LoadAsync(store)).Count);
                var retriable = sent.Where(b => b.Any(e => e["uuid"] is not null)).ToList();
                if (retriable.Count > 0 && random.Next(3) == 0)
                {
                    // A retry (or a replay of the batch): the SDK's contract writes it once.
                    await AppendAsync(store, retriable[random.Next(retriable.Count)]);
                    continue;
                }

                var batch = Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(3) == 0 ? Entry(h, ++uuids) : Marker(random)).ToArray();
                sent.Add(batch);
                fresh.Add(new JsonArray(batch.Select(e => (JsonNode)e.DeepClone()).ToArray()));
                await AppendAsync(store, batch);
            }

            cases.Add(fresh);
            var loaded = await LoadAsync(store);
            ours.Add(loaded);

            // A local file that left the server at an earlier point and gained lines of its own, imported twice. It shares
            // a stored uuid with the server (a file that shares none cannot be told from new lines, as the SDK says).
            var common = loaded.Take(snapshots[random.Next(snapshots.Count)]).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            if (!common.Any(e => e["uuid"] is not null))
            {
                continue;
            }

            imports++;
            var local = common.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(2) == 0 ? Entry(h, ++uuids) : Marker(random))).ToArray();
            await AppendAsync(store, local);
            var once = await LoadAsync(store);
            await AppendAsync(store, local);
            Assert.True(once.SequenceEqual(await LoadAsync(store)), $"history {h}: a second import of the same file changed the log");
            Assert.True(once.Take(loaded.Count).SequenceEqual(loaded), $"history {h}: an import changed what was stored");
            foreach (var uuid in local.Select(e => e["uuid"]?.GetValue<string>()).OfType<string>())
            {
                Assert.Contains(once, l => l.Contains($"\"uuid\":\"{uuid}\"", StringComparison.Ordinal));
            }
        }

        Assert.True(imports > Histories / 3, $"only {imports} histories imported a diverged file");
        var oracle = await SdkOracle.InMemoryLoadsAsync(cases);
        for (var h = 0; h < Histories; h++)
        {
            var expected = ((JsonArray)oracle[h]!).Select(e => e!.ToJsonString()).ToList();
            var actual = ours[h].Select(l => JsonNode.Parse(l)!.ToJsonString()).ToList();
            Assert.True(expected.SequenceEqual(actual),
                $"history {h}: InMemorySessionStore loads\n{string.Join('\n', expected)}\nwe load\n{string.Join('\n', actual)}\nfrom the batches {cases[h]!.ToJsonString()}");
        }
    }

    private static JsonObject Entry(int history, int n) =>
        new() { ["type"] = "user", ["uuid"] = $"{history:D4}0000-0000-4000-8000-{n:D12}", ["message"] = new JsonObject { ["role"] = "user", ["content"] = $"m{n}" } };

    private static JsonObject Marker(Random random) => random.Next(2) == 0
        ? new JsonObject { ["type"] = "tag", ["tag"] = Vocabulary[random.Next(Vocabulary.Length)], ["sessionId"] = Key.SessionId }
        : new JsonObject { ["type"] = "custom-title", ["customTitle"] = Vocabulary[random.Next(Vocabulary.Length)], ["sessionId"] = Key.SessionId };

    private static Task AppendAsync(MemoryTranscriptStore store, IEnumerable<JsonObject> batch) =>
        store.AppendAsync("t", Key, batch.Select(e => EntryParser.ParseLine(Encoding.UTF8.GetBytes(e.ToJsonString()), new EntryLimits())).ToList(), null, CancellationToken.None);

    private static async Task<List<string>> LoadAsync(MemoryTranscriptStore store)
    {
        await using var stream = await store.OpenReadAsync("t", Key, 0, null, CancellationToken.None);
        if (stream is null)
        {
            return [];
        }

        using var reader = new StreamReader(stream);
        return (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
