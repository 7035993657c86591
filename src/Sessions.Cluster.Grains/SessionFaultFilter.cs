using Sessions.Cluster.Core;

namespace Sessions.Cluster.Grains;

/// <summary>
/// Recognizes a backend's outage errors (for example a PostgreSQL restart surfacing as an Npgsql exception) as the
/// session store's <see cref="StorageUnavailableException"/>; null for any other error. Registered by the host, which
/// knows its backends; used by the grain fault filter and by the host's error answers.
/// </summary>
public delegate StorageUnavailableException? OutageTranslator(Exception exception);

/// <summary>
/// Turns a <see cref="SessionsException"/> leaving a session grain or a silo's catalog writes service into a
/// <see cref="SessionFault"/>, which Orleans carries to the caller with every field (it has no codec for the Core
/// exceptions: one crossing silos as itself fails to serialize and reaches the caller as a 500). A backend outage that
/// <see cref="OutageTranslator"/> recognizes travels as a storage-unavailable fault (503 at the caller).
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
        catch (SessionsException e) when (Carries(context))
        {
            throw SessionFault.From(e);
        }
        catch (Exception e) when (Carries(context) && translators.Select(t => t(e)).FirstOrDefault(t => t is not null) is { } outage)
        {
            throw SessionFault.From(outage);
        }
    }

    private static bool Carries(IIncomingGrainCallContext context) => context.Grain is ISessionGrain or ICatalogWritesService;
}
