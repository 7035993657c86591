using System.Collections.Concurrent;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

/// <summary>
/// The head and tail windows (<see cref="SessionInfoReader.WindowBytes"/> each) of recently written transcripts, kept
/// up to date from the bytes each append wrote, so the catalog row can be computed without reading the store. An
/// update is applied only when the store's new length equals the cached length plus the bytes written; otherwise
/// (another writer, another node) the caller reads the store. Bounded: old entries are dropped.
/// </summary>
internal sealed class TranscriptWindows
{
    private const int MaxSessions = 4096;
    private readonly ConcurrentDictionary<(string Tenant, SessionKey Key), Windows> _cache = new();

    /// <summary>The first and last window of a transcript of <paramref name="Length"/> bytes.</summary>
    public sealed record Windows(byte[] Head, byte[] Tail, long Length)
    {
        private HeadFacts? _facts;

        /// <summary>The head's facts, computed once per head (a full head never changes).</summary>
        public HeadFacts Facts => _facts ??= SessionInfoReader.Analyze(TranscriptText.Decode(Head));

        /// <summary>Carries the facts over when the head is the same array.</summary>
        public Windows WithFactsOf(Windows? old)
        {
            if (old is not null && ReferenceEquals(old.Head, Head))
            {
                _facts = old.Facts;
            }

            return this;
        }
    }

    public void Set(string tenant, SessionKey key, Windows windows)
    {
        if (_cache.Count >= MaxSessions)
        {
            foreach (var k in _cache.Keys.Take(MaxSessions / 2).ToList())
            {
                _cache.TryRemove(k, out _);
            }
        }

        _cache[(tenant, key)] = windows;
    }

    /// <summary>The windows after <paramref name="written"/> was appended, or null when the cache cannot tell.</summary>
    public Windows? Append(string tenant, SessionKey key, IReadOnlyList<TranscriptLine> written, long newLength)
    {
        var added = written.Sum(l => (long)l.Json.Length + 1);
        if (!_cache.TryGetValue((tenant, key), out var old) ? newLength != added : old.Length + added != newLength)
        {
            _cache.TryRemove((tenant, key), out _);
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

        var result = new Windows(head, tail, newLength).WithFactsOf(old);
        Set(tenant, key, result);
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
