using Sessions.Cluster.Core;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Turns a <see cref="SessionsException"/> leaving a session grain into a <see cref="SessionFault"/>, which Orleans
/// carries to the caller with every field (its own exception codec would keep only the type and message).
/// </summary>
public sealed class SessionFaultFilter : IIncomingGrainCallFilter
{
    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            await context.Invoke();
        }
        catch (SessionsException e) when (context.Grain is ISessionGrain)
        {
            throw SessionFault.From(e);
        }
    }
}
