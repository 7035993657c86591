using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The head and tail windows (<see cref="SessionInfoReader.WindowBytes"/> each) of one main transcript of
/// <paramref name="Length"/> bytes, kept by the session's state (<see cref="SessionState.Windows"/>) and extended from
/// the bytes each append wrote, so the catalog row is computed without reading the store.
/// </summary>
/// <param name="Head">The first window.</param>
/// <param name="Tail">The last window.</param>
/// <param name="Length">The transcript's committed length these windows are of.</param>
internal sealed record TranscriptWindows(byte[] Head, byte[] Tail, long Length)
{
    private HeadFacts? _facts;

    /// <summary>The head's facts, computed once per head (a full head never changes).</summary>
    public HeadFacts Facts => _facts ??= SessionInfoReader.Analyze(TranscriptText.Decode(Head));

    /// <summary>
    /// The windows after <paramref name="written"/> was appended to a transcript whose windows were
    /// <paramref name="old"/> (null: the append created it), or null when the lengths do not add up (another writer came
    /// between: the caller reads the store).
    /// </summary>
    public static TranscriptWindows? After(TranscriptWindows? old, IReadOnlyList<TranscriptLine> written, long newLength)
    {
        var added = written.Sum(l => (long)l.Json.Length + 1);
        if (old is null ? newLength != added : old.Length + added != newLength)
        {
            return null;
        }

        // Only the bytes the windows keep are copied (a batch may be tens of megabytes).
        var window = SessionInfoReader.WindowBytes;
        var head = old is null ? Slice(written, 0, (int)Math.Min(window, added))
            : old.Head.Length < window ? [.. old.Head, .. Slice(written, 0, (int)Math.Min(window - old.Head.Length, added))]
            : old.Head;
        byte[] tail;
        if (newLength <= window)
        {
            tail = head;
        }
        else
        {
            var previous = old?.Tail ?? [];
            var combined = new byte[Math.Min(window, previous.Length + added)];
            var fromBytes = (int)Math.Min(added, combined.Length);
            var fromPrevious = combined.Length - fromBytes;
            previous.AsSpan(previous.Length - fromPrevious).CopyTo(combined);
            Slice(written, added - fromBytes, fromBytes).CopyTo(combined.AsSpan(fromPrevious));
            tail = combined;
        }

        var result = new TranscriptWindows(head, tail, newLength);
        if (old is not null && ReferenceEquals(old.Head, head))
        {
            result._facts = old._facts;
        }

        return result;
    }

    // Bytes [start, start + count) of the lines as written (each followed by a newline).
    private static byte[] Slice(IReadOnlyList<TranscriptLine> lines, long start, int count)
    {
        var result = new byte[count];
        var filled = 0;
        long at = 0;
        foreach (var line in lines)
        {
            if (filled == count)
            {
                break;
            }

            var length = line.Json.Length + 1L;
            if (at + length > start)
            {
                var span = line.Json.Span;
                var from = (int)Math.Max(0, start - at);
                if (from < span.Length)
                {
                    var n = Math.Min(span.Length - from, count - filled);
                    span.Slice(from, n).CopyTo(result.AsSpan(filled));
                    filled += n;
                }

                if (filled < count)
                {
                    result[filled++] = (byte)'\n';
                }
            }

            at += length;
        }

        return result;
    }
}
