using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Tests;

/// <summary>How the content index's queue hands appended messages to the catalog.</summary>
[Trait("Category", "Unit")]
public sealed class SearchIndexQueueTests
{
    [Fact]
    public async Task TheSessionsOfOneBatch_AreWrittenSideBySide_AtMostWritersAtOnce_EachOnce_WithItsMessagesAndLength()
    {
        var catalog = DispatchProxy.Create<ISessionCatalog, RecordingCatalog>();
        var recorder = (RecordingCatalog)(object)catalog;
        var queue = new SearchIndexQueue(catalog);
        const int sessions = 40;
        for (var i = 0; i < sessions; i++)
        {
            var json = $$$"""{"type":"user","uuid":"u{{{i}}}","message":{"role":"user","content":"word{{{i}}}"}}""";
            queue.Add("t", new SessionKey("p", $"s{i}"), [new TranscriptLine(Encoding.UTF8.GetBytes(json), $"u{i}")], 100 + i);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (recorder.Written.Count < sessions && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(sessions, recorder.Written.Count);
        for (var i = 0; i < sessions; i++)
        {
            var (messages, length) = recorder.Written[$"s{i}"];
            Assert.Equal(($"u{i}", $"word{i}", 100L + i), (Assert.Single(messages).Uuid, messages[0].Text, length));
        }

        // Side by side (so the catalog can commit them together), never more than the bound.
        Assert.InRange(recorder.MostAtOnce, 2, SearchIndexQueue.WritersAtOnce);
    }

    /// <summary>An <see cref="ISessionCatalog"/> that records index writes, each taking a little while.</summary>
    public class RecordingCatalog : DispatchProxy
    {
        private int _inFlight;
        private int _most;

        public ConcurrentDictionary<string, (IReadOnlyList<IndexedMessage> Messages, long Length)> Written { get; } = new();

        public int MostAtOnce => Volatile.Read(ref _most);

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(ISessionCatalog.IndexMessagesAsync) ? IndexAsync((string)args![2]!, (IReadOnlyList<IndexedMessage>)args[3]!, (long)args[4]!)
                : throw new NotSupportedException(targetMethod?.Name);

        private async Task IndexAsync(string sessionId, IReadOnlyList<IndexedMessage> messages, long length)
        {
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _most)) && Interlocked.CompareExchange(ref _most, now, seen) != seen)
            {
            }

            await Task.Delay(30);
            Written[sessionId] = (messages, length);
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
