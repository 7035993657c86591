namespace Sessions.Cluster.Core;

/// <summary>
/// The clock of the session store's own logic: store mtimes, retention, idempotency windows, catalog write-behind.
/// It is kept apart from the <see cref="TimeProvider"/> that Orleans and ASP.NET Core resolve (each storage backend's <c>AddXxx</c> takes it from the container when it is there), so a test can move the
/// store's time by days without moving the silo's membership probes and timers with it.
/// </summary>
/// <param name="Time">The clock; <see cref="TimeProvider.System"/> outside tests.</param>
public sealed record StoreClock(TimeProvider Time);
