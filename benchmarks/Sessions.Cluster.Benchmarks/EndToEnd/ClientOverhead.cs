using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// What the .NET client costs on the append path (issue 27's goal: ≤ 5 % over raw <c>HttpClient</c>): the 3.1 MB
/// session's 601 batches appended to the embedded server (its own process, no fsync, so the disk does not hide the
/// difference) through
/// (a) a raw <c>HttpClient</c> POST of the same JSON array with an <c>Idempotency-Key</c> and the answer read as a string,
/// (b) <c>new SessionsClient(...)</c>, (c) <c>SessionsClient</c> from <c>services.AddSessionsClient()</c> (the factory's
/// handler and the client's resilience pipeline: retry and a timeout per attempt). Three rounds, each a new session per way, the ways taking turns batch by batch in a rotating order.
/// </summary>
internal sealed class ClientOverhead(Driver driver)
{
    public async Task RunAsync(List<List<string>> batches)
    {
        await using var server = await ServerProcess.StartAsync("bench-client", "--Sessions:FlushToDisk", "false");
        using var raw = new HttpClient { BaseAddress = server.Url };
        using var plain = new SessionsClient(new SessionsClientOptions { Url = server.Url });
        await using var provider = new ServiceCollection().AddSessionsClient(o => o.Url = server.Url).Services.BuildServiceProvider();
        var registered = provider.GetRequiredService<SessionsClient>();
        var ways = new (string Name, Func<string, List<string>, Task> Append)[]
        {
            ("raw HttpClient", async (sid, batch) =>
            {
                using var content = new StringContent("[" + string.Join(',', batch) + "]", Encoding.UTF8, "application/json");
                using var request = new HttpRequestMessage(HttpMethod.Post, $"v1/projects/client-bench/sessions/{sid}/entries") { Content = content };
                request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
                using var response = await raw.SendAsync(request);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsStringAsync();
            }),
            ("new SessionsClient", (sid, batch) => plain.AppendLinesAsync("client-bench", sid, null, batch, null, CancellationToken.None)),
            ("AddSessionsClient (factory + resilience)", (sid, batch) => registered.AppendLinesAsync("client-bench", sid, null, batch, null, CancellationToken.None)),
        };

        var times = ways.ToDictionary(w => w.Name, _ => new List<double>());
        foreach (var (_, append) in ways)
        {
            await append("warm-" + Guid.NewGuid(), batches[0]);
        }

        // The ways take turns batch by batch (each on its own session, the order rotating every batch), so the server's
        // drift within a round — its growing files, a collection, the catalog's flush — falls on all of them alike
        // instead of on whichever way runs last.
        for (var round = 0; round < 3; round++)
        {
            var sessions = ways.Select(_ => Guid.NewGuid().ToString()).ToArray();
            var ticks = new long[ways.Length];
            for (var b = 0; b < batches.Count; b++)
            {
                for (var k = 0; k < ways.Length; k++)
                {
                    var w = (b + round + k) % ways.Length;
                    var start = Stopwatch.GetTimestamp();
                    await ways[w].Append(sessions[w], batches[b]);
                    ticks[w] += Stopwatch.GetTimestamp() - start;
                }
            }

            for (var w = 0; w < ways.Length; w++)
            {
                times[ways[w].Name].Add(ticks[w] * 1000.0 / Stopwatch.Frequency);
            }
        }

        // The ratio moves a few percent from run to run on two cores shared with the server (the client's own work is ~2 µs
        // of a ~1 ms append: micro ClientPipelineBenchmarks); this process's CPU time is no better a measure, as its idle
        // thread-pool workers spin while a call is out.
        var rawMs = Stats.Median(times["raw HttpClient"]);
        foreach (var (name, _) in ways.Skip(1))
        {
            var ours = Stats.Median(times[name]);
            driver.Add($"client append path: {name}, {batches.Count} batches", $"{Stats.Ms(ours)} (rounds {Stats.Ms(times[name].Min())}–{Stats.Ms(times[name].Max())})",
                $"raw HttpClient {Stats.Ms(rawMs)} (rounds {Stats.Ms(times["raw HttpClient"].Min())}–{Stats.Ms(times["raw HttpClient"].Max())})", rawMs / ours, "≥ 0.95× (≤ 5 % overhead)", rawMs / ours >= 0.95);
        }
    }
}
