using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Sessions.Cluster.Core.Telemetry;

/// <summary>
/// The one <see cref="ActivitySource"/> and <see cref="Meter"/> of Sessions.Cluster, with OpenTelemetry-style names and
/// units. Exported through the OpenTelemetry SDK when the server is configured to (off otherwise); any
/// <see cref="ActivityListener"/> or <see cref="MeterListener"/> can observe them.
/// </summary>
public static class SessionsTelemetry
{
    /// <summary>Name of the activity source and the meter.</summary>
    public const string Name = "Sessions.Cluster";

    /// <summary>
    /// Traces: one activity per storage operation (a request's own span is ASP.NET Core's, and its metric the
    /// <c>Microsoft.AspNetCore.Hosting</c> meter's <c>http.server.request.duration</c>, tagged with the route and status).
    /// </summary>
    public static readonly ActivitySource ActivitySource = new(Name);

    /// <summary>Metrics.</summary>
    public static readonly Meter Meter = new(Name);

    /// <summary><c>sessions.append.entries</c>: entries written to transcripts (duplicates excluded).</summary>
    public static readonly Counter<long> AppendedEntries = Meter.CreateCounter<long>("sessions.append.entries", "{entry}", "Transcript entries appended");

    /// <summary><c>sessions.append.bytes</c>: bytes written to transcripts.</summary>
    public static readonly Counter<long> AppendedBytes = Meter.CreateCounter<long>("sessions.append.bytes", "By", "Transcript bytes appended");

    /// <summary><c>sessions.forks</c>: sessions forked.</summary>
    public static readonly Counter<long> Forks = Meter.CreateCounter<long>("sessions.forks", "{fork}", "Sessions forked");

    /// <summary><c>sessions.conflicts</c>: optimistic-concurrency conflicts, tagged <c>code</c>.</summary>
    public static readonly Counter<long> Conflicts = Meter.CreateCounter<long>("sessions.conflicts", "{conflict}", "Concurrency conflicts answered with 409");

    /// <summary><c>sessions.expirations</c>: sessions deleted by retention.</summary>
    public static readonly Counter<long> Expirations = Meter.CreateCounter<long>("sessions.expirations", "{session}", "Sessions moved to the trash by retention");

    /// <summary><c>sessions.storage.duration</c>: transcript-store operation time in seconds, tagged <c>operation</c>, <c>backend</c> and <c>status</c>.</summary>
    public static readonly Histogram<double> StorageDuration = Meter.CreateHistogram<double>("sessions.storage.duration", "s", "Transcript store operation duration");
}
