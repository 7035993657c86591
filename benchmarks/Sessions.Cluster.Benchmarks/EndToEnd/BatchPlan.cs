using System.Text.Json;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// Cuts a real transcript into the batches the SDK's transcript mirror sends: the entries of each 100 ms window of
/// their own timestamps, at most 500 entries or 1 MiB (entries without a timestamp join the current batch).
/// </summary>
internal static class BatchPlan
{
    public static List<List<string>> Of(IReadOnlyList<string> lines)
    {
        var batches = new List<List<string>>();
        var current = new List<string>();
        long window = long.MinValue;
        var bytes = 0;
        foreach (var line in lines)
        {
            var at = Timestamp(line);
            var w = at is { } t ? t / 100 : window;
            if (current.Count > 0 && (w != window || current.Count >= 500 || bytes + line.Length > 1024 * 1024))
            {
                batches.Add(current);
                current = [];
                bytes = 0;
            }

            window = w;
            current.Add(line);
            bytes += line.Length;
        }

        if (current.Count > 0)
        {
            batches.Add(current);
        }

        return batches;
    }

    private static long? Timestamp(string line)
    {
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("timestamp", out var t) && t.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(t.GetString(), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var d)
            ? d.ToUnixTimeMilliseconds()
            : null;
    }
}
