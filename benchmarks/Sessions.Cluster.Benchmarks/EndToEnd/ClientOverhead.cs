using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// What the .NET client costs on the append path (issue 27's goal: ≤ 5 % over raw <c>HttpClient</c>): the 3.1 MB
/// session's 601 batches appended to the embedded server (no fsync, so the disk does not hide the difference) through
/// (a) a raw <c>HttpClient</c> POST of the same JSON array with an <c>Idempotency-Key</c> and the answer read as a string,
/// (b) <c>new SessionsClient(...)</c>, (c) <c>SessionsClient</c> from <c>services.AddSessionsClient()</c> (the factory's
/// handler and the standard resilience pipeline). Three rounds, each a new session per way, the ways alternating.
/// </summary>
internal sealed class ClientOverhead(Driver driver)
{
    public async Task RunAsync(Driver.Node node, List<List<string>> batches)
    {
        using var raw = new HttpClient { BaseAddress = node.Url };
        using var plain = node.Client();
        await using var provider = new ServiceCollection().AddSessionsClient(o => o.Url = node.Url).Services.BuildServiceProvider();
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

        for (var round = 0; round < 3; round++)
        {
            foreach (var (name, append) in ways)
            {
                var sid = Guid.NewGuid().ToString();
                var clock = Stopwatch.StartNew();
                foreach (var batch in batches)
                {
                    await append(sid, batch);
                }

                times[name].Add(clock.Elapsed.TotalMilliseconds);
            }
        }

        var rawMs = Stats.Median(times["raw HttpClient"]);
        foreach (var (name, _) in ways.Skip(1))
        {
            var ours = Stats.Median(times[name]);
            driver.Add($"client append path: {name}, {batches.Count} batches", $"{Stats.Ms(ours)} (rounds {Stats.Ms(times[name].Min())}–{Stats.Ms(times[name].Max())})",
                $"raw HttpClient {Stats.Ms(rawMs)} (rounds {Stats.Ms(times["raw HttpClient"].Min())}–{Stats.Ms(times["raw HttpClient"].Max())})", rawMs / ours, "≥ 0.95× (≤ 5 % overhead)", rawMs / ours >= 0.95);
        }
    }
}
