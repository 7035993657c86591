using System.Net;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;
using Xunit.Abstractions;

namespace Sessions.Cluster.Server.Tests;

/// <summary>Limits on what clients send: a node under hostile load answers 413/429 and its memory stays bounded.</summary>
[Trait("Category", "Integration")]
public sealed class HostileLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EightConcurrent60MbBatches_BeyondTheBodyBudget_Are429_AndPeakMemoryStaysBounded()
    {
        const long budget = 100L * 1024 * 1024;
        await using var node = new NodeProcess(["--Sessions:DataDir", RepoPaths.TempDir("hostile-load"), "--Sessions:MaxBodyBytesInFlight", budget.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Sessions:FlushToDisk", "false", "--Logging:LogLevel:Default", "Warning"]);
        await node.StartAsync();
        var before = node.PeakMemoryBytes;
        var body = "[" + string.Join(',', Enumerable.Range(0, 4).Select(i => Calls.Entry($"big-{i}", text: new string('x', 15_000_000)))) + "]";
        using var http = new HttpClient { BaseAddress = node.Url, Timeout = TimeSpan.FromMinutes(2) };
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await http.PostAsync($"v1/projects/load/sessions/s{i}/entries", Calls.Json(body));
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text, response.Headers.RetryAfter);
        }));

        var peak = node.PeakMemoryBytes;
        output.WriteLine($"peak resident memory: {before / 1048576} MiB at start, {peak / 1048576} MiB after 8 concurrent 60 MB batches (budget {budget / 1048576} MiB)");
        Assert.All(answers, a => Assert.True(a.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{(int)a.StatusCode}: {a.text[..Math.Min(300, a.text.Length)]}"));
        Assert.Contains(answers, a => a.StatusCode == HttpStatusCode.OK);
        var busy = Assert.Single(answers.Where(a => a.StatusCode == HttpStatusCode.TooManyRequests).Take(1));
        Assert.Contains("\"code\":\"server_busy\"", busy.text, StringComparison.Ordinal);
        Assert.NotNull(busy.RetryAfter);
        Assert.True(peak < 1024L * 1024 * 1024, $"peak resident memory {peak / 1048576} MiB");
    }
}
