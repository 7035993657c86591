using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Core.Sessions;

public sealed partial class SessionService
{
    /// <summary>
    /// Writes a keyed batch that holds no <c>uuid</c> so that a retry reaching another activation writes nothing: the
    /// key is recorded in the catalog (<see cref="AppendIntent"/>) with the offset the batch will stand at before the
    /// bytes are written, fenced at that offset. A retry whose key has a record and whose bytes stand at the recorded
    /// offset is answered as a replay (every entry a duplicate, as a uuid replay is answered). Batches with a uuid need
    /// none of this: the log's uuids place them (<see cref="AppendPlan"/>), in this activation or the next.
    /// </summary>
    /// <remarks>
    /// Costs one catalog round trip more for such a batch (Claude Code writes them rarely: tags, titles, queue
    /// operations). A record whose bytes do not stand at its offset (the first call died before writing, or wrote
    /// elsewhere) is replaced and the batch written. The one case still written twice: a first call that recorded its
    /// intent, died before its bytes were durable, and another writer appended the very same bytes at that offset.
    /// </remarks>
    private async Task<AppendResult> AppendRecordedAsync(SessionState session, SessionKey key, ITranscriptLog log, IReadOnlyList<TranscriptLine> lines, long? expectedLength, string idempotencyKey, CancellationToken cancellationToken)
    {
        var bytes = AsWritten(lines);
        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var offset = expectedLength ?? (await log.StatAsync(cancellationToken).ConfigureAwait(false))?.Length ?? 0;
        var intent = new AppendIntent(session.Tenant, key, idempotencyKey, offset, bytes.Length, now);
        var standing = await catalog.AddAppendIntentAsync(intent, now - IdempotencyKeys.RetentionMs, cancellationToken).ConfigureAwait(false);
        if (standing is not null)
        {
            if (standing.Bytes == bytes.Length && await StandsAtAsync(log, standing.Offset, bytes, cancellationToken).ConfigureAwait(false))
            {
                return await ReplayedAsync(log, lines.Count, cancellationToken).ConfigureAwait(false);
            }

            await catalog.SetAppendIntentAsync(intent, cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await log.AppendAsync(lines, intent.Offset, cancellationToken).ConfigureAwait(false);
            }
            catch (ConflictException e) when (e.Code == "append_position_conflict" && expectedLength is null && attempt < 3)
            {
                // Another writer moved the log (a duplicate activation, for a moment): the same call may have been it.
                if (await StandsAtAsync(log, intent.Offset, bytes, cancellationToken).ConfigureAwait(false))
                {
                    return await ReplayedAsync(log, lines.Count, cancellationToken).ConfigureAwait(false);
                }

                var length = (await log.StatAsync(cancellationToken).ConfigureAwait(false))?.Length ?? 0;
                intent = intent with { Offset = length };
                await catalog.SetAppendIntentAsync(intent, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static byte[] AsWritten(IReadOnlyList<TranscriptLine> lines)
    {
        var buffer = new byte[lines.Sum(l => l.Json.Length + 1)];
        var at = 0;
        foreach (var line in lines)
        {
            line.Json.Span.CopyTo(buffer.AsSpan(at));
            at += line.Json.Length;
            buffer[at++] = (byte)'\n';
        }

        return buffer;
    }

    private static async Task<bool> StandsAtAsync(ITranscriptLog log, long offset, byte[] bytes, CancellationToken cancellationToken)
    {
        await using var stream = await log.OpenReadAsync(offset, bytes.Length, cancellationToken).ConfigureAwait(false);
        if (stream is null)
        {
            return false;
        }

        var stored = new byte[bytes.Length];
        var read = await stream.ReadAtLeastAsync(stored, stored.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        return read == stored.Length && stored.AsSpan().SequenceEqual(bytes);
    }

    private static async Task<AppendResult> ReplayedAsync(ITranscriptLog log, int count, CancellationToken cancellationToken)
    {
        var stat = await log.StatAsync(cancellationToken).ConfigureAwait(false);
        return new AppendResult(0, count, stat?.Length ?? 0, stat?.Mtime ?? 0, false, PreviousMtime: stat?.Mtime ?? 0);
    }
}
