using Sessions.Cluster.Core;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Recognizes a backend's outage errors (for example a PostgreSQL restart surfacing as an Npgsql exception) as the
/// session store's <see cref="StorageUnavailableException"/>; null for any other error. Registered by the host, which
/// knows its backends; used by the grain fault filter and by the host's error answers.
/// </summary>
public delegate StorageUnavailableException? OutageTranslator(Exception exception);

/// <summary>
/// Turns a <see cref="SessionsException"/> leaving a session grain into a <see cref="SessionFault"/>, which Orleans
/// carries to the caller with every field (its own exception codec would keep only the type and message). A backend
/// outage that <see cref="OutageTranslator"/> recognizes travels as a storage-unavailable fault (503 at the caller).
/// </summary>
public sealed class SessionFaultFilter(IEnumerable<OutageTranslator> translators) : IIncomingGrainCallFilter
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
        catch (Exception e) when (context.Grain is ISessionGrain && translators.Select(t => t(e)).FirstOrDefault(t => t is not null) is { } outage)
        {
            throw SessionFault.From(outage);
        }
    }
}
