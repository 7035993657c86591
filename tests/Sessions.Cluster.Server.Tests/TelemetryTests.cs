using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Sessions.Cluster.Core.Telemetry;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

[CollectionDefinition("telemetry", DisableParallelization = true)]
public sealed class TelemetryCollection;

/// <summary>Traces and metrics: the instruments record what happens, and OTLP export works end to end.</summary>
[Collection("telemetry")]
[Trait("Category", "Integration")]
public sealed class TelemetryTests
{
    [Fact]
    public async Task Instruments_RecordRequestsAppendsForksConflictsAndStorageLatency_WithRouteNotPathLabels()
    {
        var measurements = new ConcurrentBag<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name is SessionsTelemetry.Name or "Microsoft.AspNetCore.Hosting")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        meters.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Add((i.Name, v, ToDictionary(tags))));
        meters.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Add((i.Name, v, ToDictionary(tags))));
        meters.Start();
        var spans = new ConcurrentBag<Activity>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SessionsTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(activities);

        await using var server = new ServerFixture();
        await server.InitializeAsync();
        var pk = "telemetry-" + Guid.NewGuid().ToString("N")[..6];
        var secretSession = "secret-session-id";
        using (var r = await server.Http.PostAsync($"v1/projects/{pk}/sessions/{secretSession}/entries", Calls.Json($"[{Calls.Entry("a")},{Calls.Entry("b")}]")))
        {
            r.EnsureSuccessStatusCode();
        }

        using (var fork = await server.Http.PostAsync($"v1/projects/{pk}/sessions/{secretSession}/fork", Calls.Json("{}")))
        {
            fork.EnsureSuccessStatusCode();
        }

        using (var conflict = await server.Http.PostAsync($"v1/projects/{pk}/sessions/{secretSession}/entries?expectedLength=1", Calls.Json($"[{Calls.Entry("c")}]")))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        }

        meters.RecordObservableInstruments();
        // Requests are measured by ASP.NET Core (its hosting meter), by route, never the path, and status.
        const string Entries = "/v1/projects/{projectKey}/sessions/{sessionId}/entries";
        Assert.Contains(measurements, m => m.Name == "http.server.request.duration" && (string?)m.Tags["http.route"] == Entries && (string?)m.Tags["http.request.method"] == "POST" && (int?)m.Tags["http.response.status_code"] == 200);
        Assert.Contains(measurements, m => m.Name == "http.server.request.duration" && (string?)m.Tags["http.route"] == Entries && (int?)m.Tags["http.response.status_code"] == 409);
        Assert.True(measurements.Where(m => m.Name == "sessions.append.entries").Sum(m => m.Value) >= 2);
        Assert.True(measurements.Where(m => m.Name == "sessions.append.bytes").Sum(m => m.Value) > 0);
        Assert.Equal(1, measurements.Where(m => m.Name == "sessions.forks").Sum(m => m.Value));
        Assert.Equal(1, measurements.Count(m => m.Name == "sessions.conflicts" && (string)m.Tags["code"]! == "append_position_conflict"));
        Assert.Contains(measurements, m => m.Name == "sessions.storage.duration" && (string)m.Tags["backend"]! == "filesystem" && (string)m.Tags["operation"]! == "append");
        Assert.DoesNotContain(measurements, m => m.Tags.Values.Any(v => v?.ToString()?.Contains(secretSession, StringComparison.Ordinal) == true));
        // The request's span is ASP.NET Core's (named by OpenTelemetry's instrumentation, see below): none of ours.
        Assert.DoesNotContain(spans, s => s.Kind == ActivityKind.Server);
        Assert.Contains(spans, s => s.DisplayName == "storage append");
    }

    [Fact]
    public async Task Otlp_WhenAnEndpointIsConfigured_ExportsTracesAndMetricsOverHttpProtobuf()
    {
        var received = new ConcurrentBag<(string Path, string ContentType, int Length)>();
        var collector = WebApplication.CreateSlimBuilder();
        collector.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = collector.Build();
        receiver.MapPost("/v1/{signal}", async (HttpContext http, string signal) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            received.Add(("/v1/" + signal, http.Request.ContentType ?? "", (int)body.Length));
            return Results.Ok();
        });
        await receiver.StartAsync();
        var collectorUrl = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var data = RepoPaths.TempDir("otlp");
        var app = SessionsServer.Build(["--urls", "http://127.0.0.1:0", "--Sessions:DataDir", data, "--Sessions:Telemetry:OtlpEndpoint", collectorUrl, "--Sessions:Telemetry:MetricExportIntervalMs", "300", "--Logging:LogLevel:Default", "Warning"]);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // A caller without trace context: the server starts (and, by the parent-based default, samples) its own trace.
        var handler = new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() };
        using (var http = new HttpClient(handler) { BaseAddress = new Uri(address + "/") })
        {
            using var r = await http.PostAsync("v1/projects/otlp/sessions/s/entries", Calls.Json($"[{Calls.Entry("x")}]"));
            r.EnsureSuccessStatusCode();
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(received.Any(r => r.Path == "/v1/metrics") && received.Any(r => r.Path == "/v1/traces")) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        // Stopping the node disposes the providers, which flushes the spans still batched.
        await app.StopAsync();
        await app.DisposeAsync();
        Assert.Contains(received, r => r.Path == "/v1/metrics" && r.ContentType == "application/x-protobuf" && r.Length > 0);
        Assert.Contains(received, r => r.Path == "/v1/traces" && r.ContentType == "application/x-protobuf" && r.Length > 0);
    }

    [Fact]
    public async Task GrainCalls_AreTracedInsideTheRequestsTrace()
    {
        var exported = new List<Activity>();
        var data = RepoPaths.TempDir("otel-grains");
        // Nothing listens on the OTLP endpoint (its export fails quietly); the in-memory exporter sees every span.
        var app = SessionsServer.Build(
            ["--urls", "http://127.0.0.1:0", "--Sessions:DataDir", data, "--Sessions:Telemetry:OtlpEndpoint", $"http://127.0.0.1:{LocalPorts.Free()}", "--Logging:LogLevel:Default", "Warning"],
            b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(exported)));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using (var http = new HttpClient { BaseAddress = new Uri(address + "/") })
        {
            using var r = await http.PostAsync("v1/projects/otel/sessions/s/entries", Calls.Json($"[{Calls.Entry("x")}]"));
            r.EnsureSuccessStatusCode();
        }

        await app.StopAsync();
        await app.DisposeAsync();
        List<Activity> spans;
        lock (exported)
        {
            spans = [.. exported];
        }

        var request = Assert.Single(spans, a => a.Kind == ActivityKind.Server && a.DisplayName == "POST /v1/projects/{projectKey}/sessions/{sessionId}/entries");
        Assert.Equal("/v1/projects/{projectKey}/sessions/{sessionId}/entries", request.GetTagItem("http.route"));
        Assert.Equal(200, Convert.ToInt32(request.GetTagItem("http.response.status_code"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(spans, a => a.Source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) && a.TraceId == request.TraceId && a.DisplayName.Contains("Append", StringComparison.Ordinal));
        Assert.Contains(spans, a => a.Source.Name == SessionsTelemetry.Name && a.TraceId == request.TraceId);
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var d = new Dictionary<string, object?>();
        foreach (var t in tags)
        {
            d[t.Key] = t.Value;
        }

        return d;
    }
}
