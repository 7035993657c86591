using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;
using Xunit.Abstractions;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The embedded server's durability with its write-ahead journal (issue 25 §4): the real server process killed with
/// SIGKILL at random points while sixteen writers append to main and subagent transcripts and replace summary sidecars,
/// twenty times; then a torn journal tail made by hand after a kill.
/// </summary>
[Trait("Category", "Integration")]
[Collection(ProcessKillsCollection.Name)]
public sealed class EmbeddedCrashTests(ITestOutputHelper output)
{
    private const int Writers = 16;

    [Fact]
    public async Task KilledTwentyTimesWhileSixteenWritersAppend_EveryAcknowledgedEntryOnce_NoPartialLine_SidecarsAsLastAcknowledged_ATornJournalTailIsDropped()
    {
        var data = RepoPaths.TempDir("embedded-crash");
        var port = LocalPorts.Free();
        await using var node = new NodeProcess(["--Sessions:DataDir", data, "--Logging:LogLevel:Default", "Warning"], port: port);
        await node.StartAsync();
        var acknowledged = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        var sidecars = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var stop = new CancellationTokenSource();
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromSeconds(10) };
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            // Odd writers append to a subagent transcript of their session, even ones to the main transcript.
            var session = $"s{w % 8}";
            var query = w % 2 == 1 ? $"?subpath={Uri.EscapeDataString($"subagents/agent-{w}")}" : "";
            var transcript = $"v1/projects/crash/sessions/{session}/transcript{query}";
            for (var b = 0; !stop.IsCancellationRequested; b++)
            {
                var uuids = Enumerable.Range(0, 3).Select(i => $"w{w:D2}-{b:D5}-{i}").ToList();
                var body = "[" + string.Join(',', uuids.Select(u => Calls.Entry(u))) + "]";
                if (await SendUntilAnsweredAsync(http, HttpMethod.Post, $"v1/projects/crash/sessions/{session}/entries{query}", body, stop.Token))
                {
                    uuids.ForEach(u => acknowledged[u] = transcript);
                }

                if (w % 4 == 0 && b % 5 == 0 && await SendUntilAnsweredAsync(http, HttpMethod.Put, $"v1/projects/crash/sessions/{session}/summary",
                    new JsonObject { ["mtime"] = b, ["data"] = new JsonObject { ["writer"] = w, ["batch"] = b } }.ToJsonString(), stop.Token))
                {
                    sidecars[session] = b;
                }
            }
        })).ToList();

        var random = new Random(25);
        for (var round = 0; round < 20; round++)
        {
            await Task.Delay(300 + random.Next(500));
            await node.KillAsync();
            await node.StartAsync();
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers);
        var replays = node.Log.Split('\n').Count(l => l.Contains("The transcript journal replayed", StringComparison.Ordinal));
        output.WriteLine($"{acknowledged.Count} entries acknowledged over 20 kills; {replays} starts replayed the journal");
        Assert.Empty(MissingOrTwice(await StoredAsync(http, acknowledged.Values.Distinct()), acknowledged.Keys));
        foreach (var (session, batch) in sidecars)
        {
            var summary = JsonNode.Parse(await http.GetStringAsync($"v1/projects/crash/sessions/{session}/summary"))!;
            Assert.True(summary["data"]!["batch"]!.GetValue<int>() >= batch, $"{session}'s sidecar went back to batch {summary["data"]!["batch"]} from {batch}");
        }

        // A torn journal tail: the last writes cut at a random byte inside the journal's current records after a kill.
        // The replay stops there, says so, and never writes the cut record's bytes into a transcript.
        const string torn = "v1/projects/crash/sessions/torn/transcript";
        for (var b = 0; b < 20; b++)
        {
            Assert.True(await SendUntilAnsweredAsync(http, HttpMethod.Post, "v1/projects/crash/sessions/torn/entries", "[" + Calls.Entry($"torn-{b:D3}") + "]", CancellationToken.None));
        }

        await node.KillAsync();
        var journal = Path.Combine(data, "transcripts.journal", "journal");
        var (last, end) = JournalEnd(journal);
        Assert.True(last > 4096, $"the journal holds {end - 4096} bytes of records");
        using (var file = File.OpenHandle(journal, FileMode.Open, FileAccess.ReadWrite))
        {
            RandomAccess.SetLength(file, last + 1 + random.Next((int)(end - last - 1)));
        }

        await node.StartAsync();
        Assert.Contains("torn tail detected and dropped: True", node.Log, StringComparison.Ordinal);
        var stored = await StoredAsync(http, [.. acknowledged.Values.Distinct(), torn]);
        Assert.Empty(MissingOrTwice(stored, acknowledged.Keys));
        var kept = stored.Where(u => u.StartsWith("torn-", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([.. Enumerable.Range(0, 19).Select(b => $"torn-{b:D3}")], kept);

        // A clean stop (SIGTERM) checkpoints: the next start has nothing to replay.
        Assert.True(await SendUntilAnsweredAsync(http, HttpMethod.Post, "v1/projects/crash/sessions/torn/entries", "[" + Calls.Entry("after-torn") + "]", CancellationToken.None));
        Assert.NotNull(await node.TerminateAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, node.ExitCode);
        Assert.Equal(0, JournalEnd(journal).Last);
    }

    // The uuids of every line of the transcripts (each line must be whole JSON); a uuid stored twice is kept twice.
    private static async Task<List<string>> StoredAsync(HttpClient http, IEnumerable<string> transcripts)
    {
        var stored = new List<string>();
        foreach (var url in transcripts)
        {
            var text = await http.GetStringAsync(url);
            Assert.True(text.Length == 0 || text.EndsWith('\n'), $"{url} ends with a partial line");
            stored.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonNode.Parse(line)!["uuid"]!.GetValue<string>()));
        }

        return stored;
    }

    private static List<string> MissingOrTwice(List<string> stored, IEnumerable<string> acknowledged)
    {
        var once = stored.ToHashSet(StringComparer.Ordinal);
        return [.. acknowledged.Where(u => !once.Contains(u)).Select(u => "missing " + u).Take(10), .. stored.GroupBy(u => u).Where(g => g.Count() > 1).Select(g => "twice " + g.Key).Take(10)];
    }

    // Sends until the server answers (a kill drops the connection; the writer retries the same body, as the SDK's adapter
    // does); true when it answered 2xx.
    private static async Task<bool> SendUntilAnsweredAsync(HttpClient http, HttpMethod method, string url, string body, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(method, url) { Content = Calls.Json(body) };
                using var response = await http.SendAsync(request, cancellationToken);
                if ((int)response.StatusCode is >= 500)
                {
                    await Task.Delay(100, CancellationToken.None);
                    continue;
                }

                return response.IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }

        return false;
    }

    // Where the last record of the journal's current generation starts and where it ends: records (magic, length,
    // generation, crc, payload) from 4096 on, while their generation is the header's.
    private static (long Last, long End) JournalEnd(string journal)
    {
        using var file = File.OpenHandle(journal, FileMode.Open, FileAccess.Read);
        var header = new byte[24];
        RandomAccess.Read(file, header, 0);
        var generation = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(8));
        // Last stays 0 when no record is of the header's generation (a clean stop's checkpoint).
        var (last, at) = (0L, 4096L);
        var head = new byte[20];
        while (RandomAccess.Read(file, head, at) == 20 && BinaryPrimitives.ReadUInt32LittleEndian(head) == 0x524A4353 && BinaryPrimitives.ReadInt64LittleEndian(head.AsSpan(8)) == generation)
        {
            (last, at) = (at, at + 20 + BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(4)));
        }

        return (last, at);
    }
}
