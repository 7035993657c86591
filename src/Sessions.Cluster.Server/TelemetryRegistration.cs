using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Sessions.Cluster.Core.Telemetry;

namespace Sessions.Cluster.Server;

/// <summary>
/// Exports <see cref="SessionsTelemetry"/> traces and metrics over OTLP with the OpenTelemetry SDK. Off unless an
/// endpoint is configured: <c>Sessions:Telemetry:OtlpEndpoint</c> or the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
/// (e.g. <c>http://collector:4318</c>); <c>Sessions:Telemetry:OtlpProtocol</c> is <c>http/protobuf</c> (default) or
/// <c>grpc</c>; <c>Sessions:Telemetry:MetricExportIntervalMs</c> defaults to 60 000. The providers are wired by hand
/// because OpenTelemetry.Extensions.Hosting does not restore here.
/// </summary>
internal static class TelemetryRegistration
{
    public static void AddSessionsTelemetry(this IServiceCollection services, IConfiguration section)
    {
        var endpoint = section["Telemetry:OtlpEndpoint"] ?? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return;
        }

        var grpc = string.Equals(section["Telemetry:OtlpProtocol"], "grpc", StringComparison.OrdinalIgnoreCase);
        var baseUri = endpoint.TrimEnd('/');
        void Configure(OtlpExporterOptions o, string signal)
        {
            o.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
            o.Endpoint = new Uri(grpc ? baseUri : $"{baseUri}/v1/{signal}");
        }

        var resource = ResourceBuilder.CreateDefault().AddService("sessions-cluster", serviceInstanceId: $"{Environment.MachineName}-{Environment.ProcessId}");
        var interval = section.GetValue("Telemetry:MetricExportIntervalMs", 60_000);
        services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            // ASP.NET Core's own request activities: sampled as roots (or as the caller's traceparent says), so our
            // spans nest under them instead of under an unsampled parent.
            .AddSource("Microsoft.AspNetCore")
            .AddSource(SessionsTelemetry.Name)
            .AddOtlpExporter(o => Configure(o, "traces"))
            .Build());
        services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(SessionsTelemetry.Name)
            .AddOtlpExporter((o, reader) =>
            {
                Configure(o, "metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
            })
            .Build());
    }

    /// <summary>Starts the providers (they are created lazily by the container, which also disposes and flushes them).</summary>
    public static void UseSessionsTelemetry(this IServiceProvider services)
    {
        services.GetService<TracerProvider>();
        services.GetService<MeterProvider>();
    }
}
