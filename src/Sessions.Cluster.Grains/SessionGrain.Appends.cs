using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Appends and the session's write turn. <see cref="Append"/> interleaves with the grain's other calls, so appends that
/// arrive while one is being written wait in the grain's queue instead of Orleans'; when the write ends, those queued
/// for the same log go out together as one storage write (<see cref="SessionService.AppendTogetherAsync"/>: one Append
/// Block of at most 4 MiB), each caller answered as if alone. Every write, appends included, takes the grain's write
/// turn, in the order it asked: so writes still run one at a time, as they did when Orleans ordered them all.
/// </summary>
public sealed partial class SessionGrain
{
    private readonly Queue<QueuedAppend> _queuedAppends = new();
    private bool _appending;
    private Task _turn = Task.CompletedTask;

    /// <inheritdoc />
    public async Task<AppendResult> Append(AppendCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var queued = new QueuedAppend(command, Array.ConvertAll(command.Entries, e => e.ToLine()));
        _queuedAppends.Enqueue(queued);
        if (!_appending)
        {
            _appending = true;
            _ = WriteQueuedAppendsAsync();
        }

        return await queued.Answer.Task;
    }

    // Waits for the writes that asked before this one, and returns what ends this one's turn (set it when done).
    private async Task<TaskCompletionSource> TakeTurnAsync()
    {
        var previous = _turn;
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _turn = mine.Task;
        await previous;
        return mine;
    }

    // Writes the queued appends, a group per turn, until none is left; every caller gets its answer or its error.
    private async Task WriteQueuedAppendsAsync()
    {
        try
        {
            while (_queuedAppends.Count > 0)
            {
                var turn = await TakeTurnAsync();
                var group = TakeAppendGroup();
                try
                {
                    if (group.Count > 1 && await AppendTogetherAsync(group) is { } together)
                    {
                        for (var k = 0; k < group.Count; k++)
                        {
                            group[k].Answer.TrySetResult(together.Each[k]);
                        }

                        continue;
                    }

                    foreach (var queued in group)
                    {
                        try
                        {
                            queued.Answer.TrySetResult(await AppendAloneAsync(queued));
                        }
                        catch (Exception ex)
                        {
                            queued.Answer.TrySetException(ex);
                        }
                    }
                }
                catch (Exception ex)
                {
                    foreach (var queued in group)
                    {
                        queued.Answer.TrySetException(ex);
                    }
                }
                finally
                {
                    turn.SetResult();
                }
            }
        }
        finally
        {
            _appending = false;
        }
    }

    // The next group: the first queued append, and the ones queued right behind it for the same log that may go with it
    // (SessionService.CanAppendTogether), up to one Append Block's bytes, no idempotency key twice.
    private List<QueuedAppend> TakeAppendGroup()
    {
        var first = _queuedAppends.Dequeue();
        var group = new List<QueuedAppend> { first };
        if (!CanGoTogether(first))
        {
            return group;
        }

        var bytes = first.Bytes;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (first.Command.IdempotencyKey is { } firstKey)
        {
            keys.Add(firstKey);
        }

        while (_queuedAppends.TryPeek(out var next) && next.Command.Subpath == first.Command.Subpath && bytes + next.Bytes <= SessionService.MaxTogetherBytes
            && CanGoTogether(next) && (next.Command.IdempotencyKey is not { } key || keys.Add(key)))
        {
            group.Add(_queuedAppends.Dequeue());
            bytes += next.Bytes;
        }

        return group;
    }

    private bool CanGoTogether(QueuedAppend queued) =>
        sessions.CanAppendTogether(_state, queued.Command.Subpath, queued.Lines, queued.Command.ExpectedLength,
            new AppendOptions(queued.Command.IdempotencyKey, queued.Command.LastActivity, queued.Command.Summary));

    private async Task<AppendedTogether?> AppendTogetherAsync(List<QueuedAppend> group)
    {
        var subpath = group[0].Command.Subpath;
        await RestoreForWriteAsync();
        AppendedTogether? together;
        try
        {
            together = await sessions.AppendTogetherAsync(_state, subpath, [.. group.Select(q => ((IReadOnlyList<TranscriptLine>)q.Lines, q.Command.IdempotencyKey))], _mainExists, CancellationToken.None);
        }
        catch
        {
            // What reached storage is unknown: no copy or length is trusted any more.
            DropHotLogs();
            throw;
        }

        if (together is not null)
        {
            AfterAppend(subpath, [.. group.SelectMany(q => q.Lines)], together.All);
        }

        return together;
    }

    private async Task<AppendResult> AppendAloneAsync(QueuedAppend queued)
    {
        var (command, lines) = (queued.Command, queued.Lines);
        if (lines.Length > 0)
        {
            await RestoreForWriteAsync();
        }

        AppendResult result;
        try
        {
            result = await sessions.AppendAsync(_state, command.Subpath, lines, command.ExpectedLength, CancellationToken.None,
                new AppendOptions(command.IdempotencyKey, command.LastActivity, command.Summary, _mainExists));
        }
        catch
        {
            // What reached storage is unknown: no copy or length is trusted any more.
            DropHotLogs();
            throw;
        }

        AfterAppend(command.Subpath, lines, result);
        return result;
    }

    // A write to a session in the trash (a host that kept it open past its retention) brings it back first.
    private async Task RestoreForWriteAsync()
    {
        if (await TrashedAsync())
        {
            await sessions.RestoreAsync(_state, "append", CancellationToken.None);
            _trashed = false;
        }
    }

    private void AfterAppend(string? subpath, TranscriptLine[] lines, AppendResult result)
    {
        KeepAppended(subpath, lines, result);
        // A subpath append with entries succeeds only when the main transcript exists; a main one with any makes it.
        _mainExists |= lines.Length > 0 && (subpath is not null || result.Length > 0);

        if (result.Appended > 0 && !_reminded)
        {
            _reminded = true;
            _ = reminders.EnsureAsync(_tenant).ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    // An append waiting in the grain's queue, and its caller's answer.
    private sealed class QueuedAppend(AppendCommand command, TranscriptLine[] lines)
    {
        public AppendCommand Command { get; } = command;

        public TranscriptLine[] Lines { get; } = lines;

        public long Bytes { get; } = lines.Sum(l => (long)l.Json.Length + 1);

        public TaskCompletionSource<AppendResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
