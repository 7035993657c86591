using System.IO.Hashing;
using System.Runtime.InteropServices;
using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Core.Storage;

/// <summary>
/// What a store remembers of one committed log to plan appends (<see cref="AppendPlan"/>): the position of every
/// stored <c>uuid</c>, and for each line an identity: its uuid, or for a line without one a 128-bit hash of the line
/// as <c>JSON.stringify(JSON.parse(line))</c> writes it (so a replay re-serialized by the SDK still matches).
/// About 40 bytes a line. Not thread-safe: a store guards it with the log's writer lock.
/// </summary>
public sealed class LogIndex
{
    private readonly List<UInt128> _lines = [];
    private readonly Dictionary<string, int> _uuids = new(StringComparer.Ordinal);

    /// <summary>Lines indexed (blank lines are not lines).</summary>
    public int Count => _lines.Count;

    /// <summary>Whether a uuid is stored.</summary>
    public bool Contains(string uuid) => _uuids.ContainsKey(uuid);

    /// <summary>The position of the first stored line with this uuid, or -1.</summary>
    public int IndexOf(string uuid) => _uuids.TryGetValue(uuid, out var at) ? at : -1;

    /// <summary>The identity of the stored line at <paramref name="position"/>.</summary>
    public UInt128 IdentityAt(int position) => _lines[position];

    /// <summary>Adds a line appended to the log.</summary>
    public void Add(TranscriptLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (line.Uuid is { } uuid)
        {
            _uuids.TryAdd(uuid, _lines.Count);
        }

        _lines.Add(Identity(line));
    }

    /// <summary>Adds every line of committed JSONL bytes (a log read back from storage); blank lines are skipped.</summary>
    public void AddJsonl(ReadOnlySpan<byte> jsonl)
    {
        while (!jsonl.IsEmpty)
        {
            var nl = jsonl.IndexOf((byte)'\n');
            var line = nl >= 0 ? jsonl[..nl] : jsonl;
            jsonl = nl >= 0 ? jsonl[(nl + 1)..] : [];
            line = line.Trim(" \t\r"u8);
            if (line.IsEmpty)
            {
                continue;
            }

            var uuid = TranscriptUuids.Of(line);
            if (uuid is not null)
            {
                _uuids.TryAdd(uuid, _lines.Count);
            }

            _lines.Add(uuid is not null ? UuidIdentity(uuid) : ContentIdentity(line));
        }
    }

    /// <summary>The identity of a line: by uuid when it has one, else by its JavaScript-canonical content.</summary>
    public static UInt128 Identity(TranscriptLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return line.Uuid is { } uuid ? UuidIdentity(uuid) : ContentIdentity(line.Json.Span);
    }

    // Seeded apart from content identities, hashed straight from the string's UTF-16 (no copy on the append path).
    private static UInt128 UuidIdentity(string uuid) => XxHash128.HashToUInt128(MemoryMarshal.AsBytes(uuid.AsSpan()), seed: 1);

    private static UInt128 ContentIdentity(ReadOnlySpan<byte> line)
    {
        var node = JsJson.Parse(line);
        return XxHash128.HashToUInt128(node is null ? line : JsJson.Stringify(node));
    }
}
