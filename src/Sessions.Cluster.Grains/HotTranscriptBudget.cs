namespace Sessions.Cluster.Grains;

/// <summary>
/// The bytes one silo's session grains hold as in-memory copies of hot logs, bounded by
/// <see cref="SessionGrainOptions.HotTranscriptBudget"/>: a grain reserves before it keeps bytes and releases them when
/// it drops its copies or deactivates; past the budget it reads storage as if it kept nothing.
/// </summary>
public sealed class HotTranscriptBudget(SessionGrainOptions options)
{
    private long _used;

    /// <summary>Bytes reserved now.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>Reserves <paramref name="bytes"/>; false (nothing reserved) when that would pass the budget.</summary>
    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= options.HotTranscriptBudget)
        {
            return true;
        }

        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    /// <summary>Gives back what <see cref="TryReserve"/> took.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
