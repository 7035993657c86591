using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Appends and the session's write turn. Every write takes the grain's write turn in the order it arrived, so writes run
/// one at a time in arrival order, as they did when Orleans ordered them all. <see cref="Append"/> interleaves with the
/// grain's other calls, so the grain sees the appends that arrive while a write is in flight: they wait for their turn
/// in the grain's queue instead of Orleans', and consecutive ones for the same log that may go together
/// (<see cref="SessionService.CanAppendTogether"/>) form one group, written in one turn as one storage write
/// (<see cref="SessionService.AppendTogetherAsync"/>: one Append Block of at most 4 MiB), each caller answered as if
/// alone. With nothing in flight an append's turn comes at once and it is written alone.
/// </summary>
public sealed partial class SessionGrain
{
    private Task _turn = Task.CompletedTask;
    private AppendGroup? _open;

    /// <inheritdoc />
    public async Task<AppendResult> Append(AppendCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var queued = new QueuedAppend(command, Array.ConvertAll(command.Entries, e => e.ToLine()));
        var together = CanGoTogether(queued);
        if (together && _open is { } open && open.Takes(queued))
        {
            // The last write queued is a group of appends still waiting for its turn: this one goes with it.
            open.Members.Add(queued);
        }
        else
        {
            var group = new AppendGroup(queued);
            var turn = TakeTurn();
            _open = together ? group : null;
            _ = WriteGroupAsync(group, turn);
        }

        return await queued.Answer.Task;
    }

    // Queues a write behind the writes that asked before it: Previous completes when they are done; set Mine when this
    // one is. Arrival order is the order writes run in; a group of appends takes more appends until its turn comes.
    private (Task Previous, TaskCompletionSource Mine) TakeTurn()
    {
        var previous = _turn;
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _turn = mine.Task;
        return (previous, mine);
    }

    // A write other than an append: nothing queued after it joins a group queued before it.
    private async Task<TaskCompletionSource> TakeWriteTurnAsync()
    {
        _open = null;
        var (previous, mine) = TakeTurn();
        await previous;
        return mine;
    }

    // Writes a group once the writes before it are done: together when it holds several appends that still may go
    // together, else each alone, in order; every caller gets its answer or its error.
    private async Task WriteGroupAsync(AppendGroup group, (Task Previous, TaskCompletionSource Mine) turn)
    {
        await turn.Previous;
        if (_open == group)
        {
            _open = null; // its turn came: appends from now on queue behind it
        }

        var members = group.Members;
        try
        {
            // A retry whose original was answered meanwhile no longer may go together: then each is appended alone.
            if (members.Count > 1 && members.TrueForAll(CanGoTogether) && await AppendTogetherAsync(members) is { } together)
            {
                for (var k = 0; k < members.Count; k++)
                {
                    members[k].Answer.TrySetResult(together.Each[k]);
                }

                return;
            }

            foreach (var queued in members)
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
            foreach (var queued in members)
            {
                queued.Answer.TrySetException(ex);
            }
        }
        finally
        {
            turn.Mine.SetResult();
        }
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
            AfterAppend(subpath, [.. group.SelectMany(q => q.Lines)], together.Together);
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

    // Appends queued one behind the other for one log, written in one turn.
    private sealed class AppendGroup(QueuedAppend first)
    {
        public List<QueuedAppend> Members { get; } = [first];

        private long Bytes { get; set; } = first.Bytes;

        // Whether `next` may join: the same log, within one Append Block's bytes, and no idempotency key twice.
        public bool Takes(QueuedAppend next)
        {
            if (next.Command.Subpath != first.Command.Subpath || Bytes + next.Bytes > SessionService.MaxTogetherBytes
                || (next.Command.IdempotencyKey is { } key && Members.Exists(m => m.Command.IdempotencyKey == key)))
            {
                return false;
            }

            Bytes += next.Bytes;
            return true;
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
