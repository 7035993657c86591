using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Benchmarks.Micro;

/// <summary>
/// The work the .NET client itself adds to an append, without a network or a server (issue 27's "≤ 5 % over raw
/// <c>HttpClient</c>"; the end-to-end <c>client</c> workload's wall times move more than that between runs): a batch of
/// three 400-byte entries sent through (a) a raw <c>HttpClient</c> as the end-to-end peer sends it (the baseline), (b)
/// <c>new SessionsClient</c>, (c) <c>SessionsClient</c> from <c>AddSessionsClient()</c> — the factory's handlers and the
/// resilience pipeline (retry, timeout per attempt) — each over a handler that answers at once.
/// </summary>
[MemoryDiagnoser]
public class ClientPipelineBenchmarks
{
    private static readonly Uri Url = new("http://127.0.0.1:9/");
    private readonly List<string> _lines = Enumerable.Range(0, 3)
        .Select(i => $"{{\"type\":\"user\",\"uuid\":\"{Guid.NewGuid()}\",\"message\":{{\"role\":\"user\",\"content\":\"{new string('x', 320)}\"}}}}").ToList();

    private HttpClient _raw = null!;
    private SessionsClient _plain = null!;
    private ServiceProvider _provider = null!;
    private SessionsClient _registered = null!;

    [GlobalSetup]
    public void Setup()
    {
        _raw = new HttpClient(new Answering()) { BaseAddress = Url };
        _plain = new SessionsClient(new HttpClient(new Answering()), new SessionsClientOptions { Url = Url });
        var services = new ServiceCollection();
        services.AddSessionsClient(o => o.Url = Url).ConfigurePrimaryHttpMessageHandler(() => new Answering());
        _provider = services.BuildServiceProvider();
        _registered = _provider.GetRequiredService<SessionsClient>();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _raw.Dispose();
        _plain.Dispose();
        _provider.Dispose();
    }

    [Benchmark(Baseline = true)]
    public async Task<string> RawHttpClient()
    {
        using var content = new StringContent("[" + string.Join(',', _lines) + "]", Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/projects/p/sessions/s/entries") { Content = content };
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        using var response = await _raw.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    [Benchmark]
    public Task<AppendResult> NewSessionsClient() => _plain.AppendLinesAsync("p", "s", null, _lines, null, CancellationToken.None);

    [Benchmark]
    public Task<AppendResult> AddSessionsClient() => _registered.AppendLinesAsync("p", "s", null, _lines, null, CancellationToken.None);

    // Answers every request at once, as the server answers an append.
    private sealed class Answering : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"length\":1234,\"entries\":3}", Encoding.UTF8, "application/json") });
    }
}
