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

        var bytes = new byte[added];
        var at = 0;
        foreach (var line in written)
        {
            line.Json.Span.CopyTo(bytes.AsSpan(at));
            at += line.Json.Length;
            bytes[at++] = (byte)'\n';
        }

        var window = SessionInfoReader.WindowBytes;
        var head = old is null ? bytes[..(int)Math.Min(window, added)]
            : old.Head.Length < window ? [.. old.Head, .. bytes.AsSpan(0, (int)Math.Min(window - old.Head.Length, added))]
            : old.Head;
        byte[] tail;
        if (newLength <= window)
        {
            tail = head;
        }
        else
        {
            var previous = old?.Tail ?? [];
            var combined = new byte[Math.Min(window, previous.Length + bytes.Length)];
            var fromBytes = Math.Min(bytes.Length, combined.Length);
            var fromPrevious = combined.Length - fromBytes;
            previous.AsSpan(previous.Length - fromPrevious).CopyTo(combined);
            bytes.AsSpan(bytes.Length - fromBytes).CopyTo(combined.AsSpan(fromPrevious));
            tail = combined;
        }

        var result = new Windows(head, tail, newLength).WithFactsOf(old);
        Set(tenant, key, result);
        return result;
    }
}
