namespace Sessions.Cluster.Grains;

/// <summary>
/// A web console sign-in that was ended (<see cref="IConsoleSignInGrain"/>), as grain state <see cref="StateName"/>.
/// A sign-in with no state is active (within the absolute lifetime its cookie carries).
/// </summary>
[GenerateSerializer]
public sealed class ConsoleSignInState
{
    /// <summary>The grain state name.</summary>
    public const string StateName = "console-signin";

    /// <summary>Whether the sign-in was ended.</summary>
    [Id(0)]
    public bool Ended { get; set; }

    /// <summary>When the sign-in would have run out anyway; once past, the state is cleared on the next call.</summary>
    [Id(1)]
    public DateTimeOffset LifetimeEnd { get; set; }
}

/// <summary>See <see cref="IConsoleSignInGrain"/>: Orleans' persistent state in the silo's default grain storage.</summary>
public sealed class ConsoleSignInGrain([PersistentState(ConsoleSignInState.StateName)] IPersistentState<ConsoleSignInState> state, TimeProvider time)
    : Grain, IConsoleSignInGrain
{
    /// <inheritdoc />
    public async Task<bool> IsActive()
    {
        if (state.State.Ended && state.State.LifetimeEnd < time.GetUtcNow())
        {
            // Its cookie has run out anyway: the record of its end is no longer needed.
            await state.ClearStateAsync();
            return false;
        }

        return !state.State.Ended;
    }

    /// <inheritdoc />
    public async Task End(DateTimeOffset lifetimeEnd)
    {
        state.State.Ended = true;
        state.State.LifetimeEnd = lifetimeEnd;
        await state.WriteStateAsync();
    }
}
