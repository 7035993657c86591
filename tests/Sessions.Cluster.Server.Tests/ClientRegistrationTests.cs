using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Sessions.Cluster.Client;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// <c>services.AddSessionsClient()</c> against a real server: options from configuration, typed errors, the health
/// check, and the resilience pipeline — a lost answer to an append is retried and written once, a 429's
/// <c>Retry-After</c> is waited out, a fork is never sent twice. Faults are injected between the client and the real
/// server (a handler that drops or replaces an answer).
/// </summary>
[Trait("Category", "Integration")]
public sealed class ClientRegistrationTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private ServiceProvider Services(Action<IHttpClientBuilder>? http = null, string? url = null, string timeout = "00:00:30")
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SessionsClient:Url"] = url ?? server.BaseUrl.ToString(),
            ["SessionsClient:Timeout"] = timeout,
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging();
        var builder = services.AddSessionsClient();
        http?.Invoke(builder);
        services.AddHealthChecks().AddSessionsServer(tags: ["ready"]);
        return services.BuildServiceProvider(validateScopes: true);
    }

    [Fact]
    public async Task FromConfiguration_ItWritesAndReads_ErrorsAreTypedByStatus_AndTheHealthCheckSaysReady()
    {
        await using var provider = Services();
        var client = provider.GetRequiredService<SessionsClient>();
        var sessionId = Guid.NewGuid().ToString();

        await client.AppendLinesAsync("di", sessionId, null, [Calls.Entry("u1"), Calls.Entry("u2")], null, CancellationToken.None);
        Assert.Equal(2, System.Text.Encoding.UTF8.GetString((await client.GetTranscriptAsync("di", sessionId, null, CancellationToken.None))!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var missing = await Assert.ThrowsAsync<SessionsNotFoundException>(() => client.GetInfoAsync("di", Guid.NewGuid().ToString(), CancellationToken.None));
        Assert.Equal("session_not_found", missing.Code);
        var conflict = await Assert.ThrowsAsync<SessionsConflictException>(() => client.AppendLinesAsync("di", sessionId, null, [Calls.Entry("u3")], 1, CancellationToken.None));
        Assert.Equal("append_position_conflict", conflict.Code);
        var invalid = await Assert.ThrowsAsync<SessionsInvalidRequestException>(() => client.AppendLinesAsync("di", sessionId, null, ["not json"], null, CancellationToken.None));
        Assert.StartsWith("invalid_", invalid.Code, StringComparison.Ordinal);

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        Assert.Equal(HealthStatus.Healthy, report.Status);
    }

    [Fact]
    public async Task AServerThatCannotBeReached_IsUnhealthy_AndABadUrlIsRefusedAtResolve()
    {
        await using (var provider = Services(url: $"http://127.0.0.1:{LocalPorts.Free()}/", timeout: "00:00:01"))
        {
            var clock = Stopwatch.StartNew();
            var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            Assert.Equal(HealthStatus.Unhealthy, report.Status);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the check took {clock.Elapsed}");
        }

        await using var bad = Services(url: "ftp://example/");
        var refused = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<SessionsClient>());
        Assert.Contains("absolute http or https", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAppendWhoseAnswerIsLost_IsRetriedWithItsKey_AndWrittenOnce()
    {
        var fault = new Fault(r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/entries", StringComparison.Ordinal), Forward: true,
            () => Problem(HttpStatusCode.ServiceUnavailable, "storage_unavailable"));
        await using var provider = Services(b => b.AddHttpMessageHandler(() => fault));
        var client = provider.GetRequiredService<SessionsClient>();
        var sessionId = Guid.NewGuid().ToString();

        var result = await client.AppendLinesAsync("di", sessionId, null, [Calls.Entry("u1"), Calls.Entry("u2")], null, CancellationToken.None);

        // The server stored the first attempt; the retry carried the same key and got the same answer.
        Assert.Equal(2, fault.Attempts.Count);
        Assert.Single(fault.Attempts.Select(a => a.IdempotencyKey).Distinct());
        Assert.NotNull(fault.Attempts[0].IdempotencyKey);
        Assert.Equal(2, result.Appended);
        var stored = await server.CreateClient().GetTranscriptAsync("di", sessionId, null, CancellationToken.None);
        Assert.Equal(2, System.Text.Encoding.UTF8.GetString(stored!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task A429_IsRetriedAfterItsRetryAfter_AndAForkOrADeleteIsNeverSentTwice()
    {
        var sessionId = Guid.NewGuid().ToString();
        await server.CreateClient().AppendLinesAsync("di", sessionId, null, [Calls.Entry("u1")], null, CancellationToken.None);

        var limited = new Fault(r => r.Method == HttpMethod.Get, Forward: false, () =>
        {
            var answer = Problem(HttpStatusCode.TooManyRequests, "rate_limited");
            answer.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(3));
            return answer;
        });
        await using (var provider = Services(b => b.AddHttpMessageHandler(() => limited)))
        {
            var clock = Stopwatch.StartNew();
            var info = await provider.GetRequiredService<SessionsClient>().GetInfoAsync("di", sessionId, CancellationToken.None);
            Assert.Equal(sessionId, info.SessionId);
            Assert.Equal(2, limited.Attempts.Count);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(2.9), $"retried after {clock.Elapsed}, before the 3 s Retry-After");
        }

        var lostFork = new Fault(r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/fork", StringComparison.Ordinal), Forward: false,
            () => Problem(HttpStatusCode.ServiceUnavailable, "storage_unavailable"));
        await using (var provider = Services(b => b.AddHttpMessageHandler(() => lostFork)))
        {
            var failed = await Assert.ThrowsAsync<SessionsUnavailableException>(() => provider.GetRequiredService<SessionsClient>().ForkAsync("di", sessionId, null, null, CancellationToken.None));
            Assert.Equal("storage_unavailable", failed.Code);
            Assert.Single(lostFork.Attempts);
        }

        // Nor a delete whose answer was lost: a retry would call the deleted session not found.
        var lostDelete = new Fault(r => r.Method == HttpMethod.Delete, Forward: true, () => Problem(HttpStatusCode.ServiceUnavailable, "storage_unavailable"));
        await using (var provider = Services(b => b.AddHttpMessageHandler(() => lostDelete)))
        {
            await Assert.ThrowsAsync<SessionsUnavailableException>(() => provider.GetRequiredService<SessionsClient>().DeleteAsync("di", sessionId, CancellationToken.None));
            Assert.Single(lostDelete.Attempts);
            await Assert.ThrowsAsync<SessionsNotFoundException>(() => server.CreateClient().GetInfoAsync("di", sessionId, CancellationToken.None));
        }
    }

    [Fact]
    public async Task ItsRequests_AreInTheCallersTrace_EachAttemptOne_AndTheServerContinuesIt()
    {
        // The first append attempt reaches the server, its answer is replaced by a 503: the retry is a second HTTP span.
        var fault = new Fault(r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/entries", StringComparison.Ordinal), Forward: true,
            () => Problem(HttpStatusCode.ServiceUnavailable, "storage_unavailable"));
        await using var provider = Services(b => b.AddHttpMessageHandler(() => fault));
        var client = provider.GetRequiredService<SessionsClient>();
        using var caller = new ActivitySource("Sessions.Cluster.Tests.Caller");
        var seen = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Sessions.Cluster.Tests.Caller" or "System.Net.Http" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (seen)
                {
                    seen.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        ActivityTraceId trace;
        ActivitySpanId callerSpan;
        using (var operation = caller.StartActivity("agent turn"))
        {
            Assert.NotNull(operation);
            (trace, callerSpan) = (operation.TraceId, operation.SpanId);
            await client.AppendLinesAsync("traced", Guid.NewGuid().ToString(), null, [Calls.Entry("u1")], null, CancellationToken.None);
        }

        // The server's request span stops after its response is sent, so it may stop just after the client returns.
        List<Activity> ours;
        for (var wait = Stopwatch.StartNew(); ; await Task.Delay(20))
        {
            lock (seen)
            {
                ours = seen.Where(a => a.TraceId == trace).ToList();
            }

            if (ours.Count(a => a.Source.Name == "Microsoft.AspNetCore") >= 2 || wait.Elapsed > TimeSpan.FromSeconds(10))
            {
                break;
            }
        }

        var attempts = ours.Where(a => a.Source.Name == "System.Net.Http").OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, a => Assert.Equal(callerSpan, a.ParentSpanId));
        Assert.All(attempts, a => Assert.Equal("POST", a.GetTagItem("http.request.method")));
        Assert.Equal(2, fault.Attempts.Count);
        // Each attempt reached the server, whose request span continues the caller's trace under that attempt.
        var served = ours.Where(a => a.Source.Name == "Microsoft.AspNetCore").OrderBy(a => a.StartTimeUtc).ToList();
        Assert.Equal(attempts.Select(a => a.SpanId), served.Select(a => a.ParentSpanId));
        Assert.All(served, a => Assert.Equal("Microsoft.AspNetCore.Hosting.HttpRequestIn", a.OperationName));
    }

    private static HttpResponseMessage Problem(HttpStatusCode status, string code) => new(status)
    {
        Content = new StringContent($$"""{"title":"injected","status":{{(int)status}},"code":"{{code}}","detail":"injected by the test"}""", System.Text.Encoding.UTF8, "application/problem+json"),
    };

    // Between the client's pipeline and the server: the first request it matches is answered with a made-up answer,
    // after (Forward) or instead of reaching the server; every later one goes through. Each matching attempt is recorded.
    private sealed class Fault(Func<HttpRequestMessage, bool> matches, bool Forward, Func<HttpResponseMessage> answer) : DelegatingHandler
    {
        public List<(DateTime At, string? IdempotencyKey)> Attempts { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!matches(request))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            bool first;
            lock (Attempts)
            {
                Attempts.Add((DateTime.UtcNow, request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.Single() : null));
                first = Attempts.Count == 1;
            }

            if (!first)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            if (Forward)
            {
                (await base.SendAsync(request, cancellationToken)).Dispose();
            }

            return answer();
        }
    }
}
