namespace Sessions.Cluster.Server;

/// <summary>
/// The clock of the session store's own logic: store mtimes, retention, idempotency windows, catalog write-behind.
/// It is kept apart from the <see cref="TimeProvider"/> that Orleans and ASP.NET Core resolve, so a test can move the
/// store's time by days without moving the silo's membership probes and timers with it.
/// </summary>
/// <param name="Time">The clock; <see cref="TimeProvider.System"/> outside tests.</param>
public sealed record StoreClock(TimeProvider Time);
