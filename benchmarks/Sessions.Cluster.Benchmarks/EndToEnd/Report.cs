using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>One comparison: our figure, the peer's figure measured in the same run, their ratio and the target.</summary>
/// <param name="Workload">What was measured.</param>
/// <param name="Ours">Our figure, with unit.</param>
/// <param name="Peer">The peer and its figure.</param>
/// <param name="Ratio">Ours relative to the peer, oriented so that bigger is better (throughput ratio or speed-up).</param>
/// <param name="Target">The DESIGN.md §6 target, if any.</param>
/// <param name="Met">Whether the target is met (null when there is none).</param>
internal sealed record Row(string Workload, string Ours, string Peer, double Ratio, string Target, bool? Met);

/// <summary>Prints rows and the machine they were measured on.</summary>
internal static class Report
{
    public static string Markdown(IEnumerable<Row> rows)
    {
        var text = new StringBuilder("| workload | ours | peer (same run) | ratio (ours vs peer, higher is better) | target | met |\n|---|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {r.Workload} | {r.Ours} | {r.Peer} | {r.Ratio:0.00}× | {r.Target} | {(r.Met is null ? "–" : r.Met.Value ? "yes" : "**no**")} |\n");
        }

        return text.ToString();
    }

    public static string Machine() =>
        $"Measured {DateTime.UtcNow:u} on {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1 << 30)} GiB, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}.";
}

/// <summary>Percentiles and rates.</summary>
internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public static double Median(IReadOnlyList<double> values) => Percentile(values, 50);

    public static string Ms(double ms) => ms >= 100 ? $"{ms:0} ms" : $"{ms:0.0} ms";
}
