using System.Text.Json;

namespace Sessions.Cluster.Core.Storage;

/// <summary>Reads the idempotency keys (top-level <c>uuid</c> strings) of committed JSONL bytes; stores rebuild their dedupe sets with it.</summary>
public static class TranscriptUuids
{
    /// <summary>The <c>uuid</c> of every line that has one, in order; unparseable lines are skipped.</summary>
    public static List<string> Read(ReadOnlySpan<byte> jsonl)
    {
        var result = new List<string>();
        while (!jsonl.IsEmpty)
        {
            var nl = jsonl.IndexOf((byte)'\n');
            var line = nl >= 0 ? jsonl[..nl] : jsonl;
            jsonl = nl >= 0 ? jsonl[(nl + 1)..] : [];
            if (Of(line) is { } uuid)
            {
                result.Add(uuid);
            }
        }

        return result;
    }

    /// <summary>The top-level <c>uuid</c> string of one JSON object line, or null.</summary>
    public static string? Of(ReadOnlySpan<byte> line)
    {
        try
        {
            var reader = new Utf8JsonReader(line, EntryLimits.LineReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isUuid = reader.ValueTextEquals("uuid"u8);
                reader.Read();
                if (isUuid)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}
