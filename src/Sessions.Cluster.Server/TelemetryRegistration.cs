using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sessions.Cluster.Core.Telemetry;

namespace Sessions.Cluster.Server;

/// <summary>
/// Traces and metrics through <c>OpenTelemetry.Extensions.Hosting</c>, exported over OTLP. Off unless an endpoint is
/// configured: <c>Sessions:Telemetry:OtlpEndpoint</c> or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (e.g.
/// <c>http://collector:4318</c>); <c>Sessions:Telemetry:OtlpProtocol</c> is <c>http/protobuf</c> (default) or <c>grpc</c>;
/// <c>Sessions:Telemetry:MetricExportIntervalMs</c> defaults to 60 000.
/// </summary>
/// <remarks>
/// Sources: ours (<see cref="SessionsTelemetry.Name"/>), ASP.NET Core's request activities (through
/// <c>OpenTelemetry.Instrumentation.AspNetCore</c>: a span per request named by method and route), Orleans' grain calls
/// (<c>Microsoft.Orleans.*</c>, propagated between silos by <c>AddActivityPropagation</c>) and the Azure SDK's storage
/// calls (<c>Azure.*</c>). Meters: ours, Orleans', ASP.NET Core's and Kestrel's.
/// </remarks>
internal static class TelemetryRegistration
{
    public static void AddSessionsTelemetry(this IServiceCollection services, TelemetrySettings settings)
    {
        var endpoint = settings.OtlpEndpoint ?? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return;
        }

        // The Azure SDK emits its spans on ActivitySources only when asked to.
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        var grpc = string.Equals(settings.OtlpProtocol, "grpc", StringComparison.OrdinalIgnoreCase);
        var baseUri = endpoint.TrimEnd('/');
        void Configure(OtlpExporterOptions o, string signal)
        {
            o.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
            o.Endpoint = new Uri(grpc ? baseUri : $"{baseUri}/v1/{signal}");
        }

        var interval = settings.MetricExportIntervalMs;
        services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("sessions-cluster", serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}"))
            .WithTracing(t => t
                // ASP.NET Core's own request activities, named and tagged by OpenTelemetry's instrumentation ("POST
                // /v1/projects/{projectKey}/…", http.route, the status): sampled as roots (or as the caller's traceparent
                // says), so our spans and the grain calls nest under them. Their metric is the hosting meter's below.
                .AddAspNetCoreInstrumentation()
                .AddSource(SessionsTelemetry.Name)
                .AddSource("Microsoft.Orleans.*")
                .AddSource("Azure.*")
                .AddOtlpExporter(o => Configure(o, "traces")))
            .WithMetrics(m => m
                .AddMeter(SessionsTelemetry.Name)
                .AddMeter("Microsoft.Orleans")
                .AddMeter("Microsoft.AspNetCore.Hosting")
                .AddMeter("Microsoft.AspNetCore.Server.Kestrel")
                .AddOtlpExporter((o, reader) =>
                {
                    Configure(o, "metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
                }));
    }
}
