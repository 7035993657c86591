namespace Sessions.Cluster.Grains;

/// <summary>Settings of the session grains (configuration: <c>Sessions:EphemeralIdle</c>).</summary>
public sealed class SessionGrainOptions
{
    /// <summary>
    /// How long an ephemeral session lives without being used; then its grain deactivates and the session is gone
    /// (404), as it is when its silo is lost. Default one hour.
    /// </summary>
    public TimeSpan EphemeralIdle { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Largest log (bytes) a session grain keeps in memory once read, so the next reads of a hot session are answered
    /// without storage (its appends extend the copy with one range read when next read); 0 keeps none (embedded mode,
    /// whose files are local). Default 0.
    /// </summary>
    public long HotTranscriptBytes { get; set; }

    /// <summary>
    /// Largest log (bytes) whose messages a session grain keeps between reads (its parsed graph entries and each message
    /// serialized: about 3 bytes a byte of a real transcript, up to ~20 for tiny entries; reserved from
    /// <see cref="HotTranscriptBudget"/> as 3 bytes a line byte plus 2 KiB an entry), extended by each append so a read
    /// after an append parses only the new lines; 0 keeps none. Default 32 MiB, in both modes.
    /// </summary>
    public long MessagesLogBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Most bytes all the session grains of one silo keep in memory together (hot logs and kept messages). Default 512 MiB.</summary>
    public long HotTranscriptBudget { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// How long a reader waits for each silo to write the catalog rows it holds back (<see cref="CatalogWriteBarrier"/>)
    /// before it reads without that silo's. Default 5 s.
    /// </summary>
    public TimeSpan CatalogBarrierTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the cluster looks for rows held back by silos that died (<see cref="RowWriterRecovery"/>). Default 30 s.</summary>
    public TimeSpan RowRecoveryPeriod { get; set; } = TimeSpan.FromSeconds(30);
}
