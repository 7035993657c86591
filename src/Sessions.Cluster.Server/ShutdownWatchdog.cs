using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Sessions.Cluster.Server;

/// <summary>
/// Ends the process when a stop (SIGTERM, Ctrl+C) has not finished within the host's <c>ShutdownTimeout</c>
/// (<c>Sessions:ShutdownTimeout</c>, 30 s) and two seconds more. The host only cancels its stop token at the timeout;
/// the Orleans silo keeps retrying the membership table and grain state while storage is down (tens of seconds or more),
/// so without this a node whose storage is gone never exits. What did not finish is logged; the exit is SIGKILL's
/// (137). Nothing acknowledged is lost: appends are durable before they are acknowledged, and the other silos declare
/// this one dead as they would after a crash.
/// </summary>
internal sealed partial class ShutdownWatchdog(IHostApplicationLifetime lifetime, IOptions<HostOptions> options, ILogger<ShutdownWatchdog> logger) : IHostedService
{
    /// <summary>How long after the shutdown timeout the process is ended.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    private CancellationTokenRegistration _stopping;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(() => _ = WatchAsync());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task WatchAsync()
    {
        var limit = options.Value.ShutdownTimeout + Grace;
        var stopped = new TaskCompletionSource();
        using var registration = lifetime.ApplicationStopped.Register(() => stopped.TrySetResult());
        if (await Task.WhenAny(stopped.Task, Task.Delay(limit)).ConfigureAwait(false) == stopped.Task)
        {
            return;
        }

        DidNotFinish(logger, limit.TotalSeconds);
        // Let the console logger write the line before the process ends.
        await Task.Delay(TimeSpan.FromMilliseconds(300)).ConfigureAwait(false);
        _stopping.Dispose();
        Process.GetCurrentProcess().Kill();
    }

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "The stop did not finish within {Seconds} s: the Orleans silo could not write its membership status or grain state (storage unreachable?); ending the process. Acknowledged appends are durable; the other silos will declare this one dead")]
    private static partial void DidNotFinish(ILogger logger, double seconds);
}
