using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Runtime.Services;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Grains;

/// <summary>
/// The silo's <see cref="ICatalogWritesService"/>: flushes the silo's <see cref="WriteBehindCatalog"/> (a no-op where the
/// catalog writes through). Reentrant: readers asking at once share the flush under way and the next.
/// </summary>
[Reentrant]
public sealed class CatalogWritesService(GrainId grainId, Silo silo, ILoggerFactory loggerFactory, ISessionCatalog catalog)
    : GrainService(grainId, silo, loggerFactory), ICatalogWritesService
{
    /// <inheritdoc />
    public Task Flush(string? tenant) => catalog is WriteBehindCatalog writeBehind ? writeBehind.FlushAsync(CancellationToken.None) : Task.CompletedTask;
}

/// <summary>
/// The cluster's <see cref="ICatalogWriteBarrier"/>: a reader's node asks every active silo's
/// <see cref="ICatalogWritesService"/> at once (this silo's directly) and waits for all, each at most
/// <see cref="SessionGrainOptions.CatalogBarrierTimeout"/>; a silo that does not answer in time (dying, or cut off) is
/// logged and passed over — its noted rows are rebuilt once it is declared dead (<see cref="RowWriterRecovery"/>).
/// </summary>
public sealed partial class CatalogWriteBarrier : GrainServiceClient<ICatalogWritesService>, ICatalogWriteBarrier
{
    private readonly IServiceProvider _services;
    private readonly ILocalSiloDetails _localSilo;
    private readonly IClusterMembershipService _membership;
    private readonly SessionGrainOptions _options;
    private readonly ILogger<CatalogWriteBarrier> _logger;
    private ISessionCatalog? _catalog;

    /// <summary>Creates the silo's barrier (the catalog is resolved on first use: it is made with this barrier).</summary>
    public CatalogWriteBarrier(IServiceProvider services, ILocalSiloDetails localSilo, IClusterMembershipService membership, SessionGrainOptions options, ILogger<CatalogWriteBarrier> logger)
        : base(services)
    {
        ArgumentNullException.ThrowIfNull(localSilo);
        _services = services;
        _localSilo = localSilo;
        _membership = membership;
        _options = options;
        _logger = logger;
        LocalWriter = localSilo.SiloAddress.ToParsableString();
    }

    /// <inheritdoc />
    /// <remarks>The silo's address with its generation: a restarted silo is another writer.</remarks>
    public string LocalWriter { get; }

    /// <inheritdoc />
    public async Task WaitForWritesAsync(string? tenant, CancellationToken cancellationToken)
    {
        var flushes = new List<Task>();
        foreach (var member in _membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status != SiloStatus.Active)
            {
                continue;
            }

            flushes.Add(member.SiloAddress.Equals(_localSilo.SiloAddress) ? FlushLocalAsync() : FlushAsync(member.SiloAddress, tenant, cancellationToken));
        }

        if (flushes.Count == 0)
        {
            // Not yet (or no longer) an active member: this silo's own rows still go first.
            flushes.Add(FlushLocalAsync());
        }

        await Task.WhenAll(flushes).ConfigureAwait(false);
    }

    private Task FlushLocalAsync()
    {
        _catalog ??= _services.GetService(typeof(ISessionCatalog)) as ISessionCatalog;
        return _catalog is WriteBehindCatalog writeBehind ? writeBehind.FlushAsync(CancellationToken.None) : Task.CompletedTask;
    }

    private async Task FlushAsync(SiloAddress silo, string? tenant, CancellationToken cancellationToken)
    {
        try
        {
            await GetGrainService(silo).Flush(tenant).WaitAsync(_options.CatalogBarrierTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException)
        {
            Log.Unanswered(_logger, silo, ex.GetType().Name);
        }
        catch (SessionFault fault)
        {
            // The silo could not write (the catalog is down): the reader gets the same error (503), not a stale answer.
            throw fault.ToException();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} did not write its held-back catalog rows for a reader in time ({Reason}); read without them. If it died, its noted rows are rebuilt.")]
        public static partial void Unanswered(ILogger logger, SiloAddress silo, string reason);
    }
}
