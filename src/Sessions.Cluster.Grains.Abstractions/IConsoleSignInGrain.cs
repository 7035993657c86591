namespace Sessions.Cluster.Grains;

/// <summary>
/// One web console sign-in (key: the random id its cookie carries). The cookie is encrypted, so it cannot be forged,
/// but it can be copied: signing out ends the sign-in here, on every node, so a copy of the cookie stops working too.
/// </summary>
public interface IConsoleSignInGrain : IGrainWithStringKey
{
    /// <summary>False once <see cref="End"/> was called (kept in grain storage, so it survives restarts and silos).</summary>
    Task<bool> IsActive();

    /// <summary>Ends the sign-in for good.</summary>
    /// <param name="lifetimeEnd">When the sign-in would have run out anyway (after it, the record is no longer needed).</param>
    Task End(DateTimeOffset lifetimeEnd);
}
