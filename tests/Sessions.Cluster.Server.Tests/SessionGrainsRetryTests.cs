using System.Reflection;
using Orleans;
using Orleans.Runtime;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Sessions;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Grains;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Unit tests of how the HTTP layer calls grains: an unreachable silo is retried within the budget and then answered as
/// cluster_unavailable (503), never 500; a grain's own error is rethrown at once as the Core error it carries.
/// The grain factory and grain are fakes (the real ones are exercised by the cluster and TestingHost tests).
/// </summary>
[Trait("Category", "Unit")]
public sealed class SessionGrainsRetryTests
{
    [Fact]
    public async Task SiloUnavailable_IsRetried_UntilTheGrainAnswers()
    {
        var grain = FakeGrain.Create(failures: 3, new SiloUnavailableException("silo S1 is dead"));
        var grains = new SessionGrains(FakeFactory.Create(grain), Sessions(), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), retries: 5);

        var info = await grains.GetInfoAsync("acme", "proj", "s1", CancellationToken.None);

        Assert.Equal("s1", info.SessionId);
        Assert.Equal(4, ((FakeGrain)(object)grain).Calls);
    }

    [Fact]
    public async Task SiloUnavailablePastTheBudget_IsClusterUnavailable_A503()
    {
        var grain = FakeGrain.Create(failures: int.MaxValue, new SiloUnavailableException("silo S1 is dead"));
        var grains = new SessionGrains(FakeFactory.Create(grain), Sessions(), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), retries: 3);

        var error = await Assert.ThrowsAsync<ClusterUnavailableException>(() => grains.GetInfoAsync("acme", "proj", "s1", CancellationToken.None));

        Assert.Equal("cluster_unavailable", error.Code);
        Assert.True(error.IsTransient);
        Assert.Equal(4, ((FakeGrain)(object)grain).Calls);
        Assert.Equal(503, Api.ApiErrors.Codes[error.Code]);
    }

    [Fact]
    public async Task AGrainsOwnError_IsNotRetried_AndArrivesAsTheCoreError()
    {
        var fault = SessionFault.From(new ConflictException("append_position_conflict", "Expected 5, it is 9.", "5", "9"));
        var grain = FakeGrain.Create(failures: int.MaxValue, fault);
        var grains = new SessionGrains(FakeFactory.Create(grain), Sessions(), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), retries: 3);

        var error = await Assert.ThrowsAsync<ConflictException>(() => grains.GetInfoAsync("acme", "proj", "s1", CancellationToken.None));

        Assert.Equal(("5", "9"), (error.Expected, error.Actual));
        Assert.Equal(1, ((FakeGrain)(object)grain).Calls);
    }

    [Fact]
    public async Task AnUnsafeKey_IsRefusedBeforeAnyGrainIsCalled()
    {
        var grain = FakeGrain.Create(failures: 0, new InvalidOperationException("unused"));
        var grains = new SessionGrains(FakeFactory.Create(grain), Sessions(), TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5), retries: 3);

        await Assert.ThrowsAsync<InvalidKeyException>(() => grains.GetInfoAsync("acme", "..", "s1", CancellationToken.None));
        Assert.Equal(0, ((FakeGrain)(object)grain).Calls);
    }

    private static SessionService Sessions() => new(new MemoryTranscriptStore(TimeProvider.System), DispatchProxy.Create<ISessionCatalog, Unreached>(), TimeProvider.System, new EntryLimits());

    /// <summary>A grain that fails its first calls with an exception, then answers GetInfo.</summary>
    public class FakeGrain : DispatchProxy
    {
        private int _failures;
        private Exception _error = null!;

        public int Calls { get; private set; }

        public static ISessionGrain Create(int failures, Exception error)
        {
            var grain = Create<ISessionGrain, FakeGrain>();
            var fake = (FakeGrain)(object)grain;
            fake._failures = failures;
            fake._error = error;
            return grain;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            Calls++;
            if (Calls <= _failures)
            {
                return Task.FromException<SessionRecord>(_error);
            }

            return targetMethod!.Name == nameof(ISessionGrain.GetInfo)
                ? Task.FromResult(new SessionRecord { Tenant = "acme", ProjectKey = "proj", SessionId = "s1", Mtime = 1, Size = 1, Listed = true })
                : throw new NotSupportedException(targetMethod.Name);
        }
    }

    /// <summary>A grain factory that hands out one grain.</summary>
    public class FakeFactory : DispatchProxy
    {
        private ISessionGrain _grain = null!;

        public static IGrainFactory Create(ISessionGrain grain)
        {
            var factory = Create<IGrainFactory, FakeFactory>();
            ((FakeFactory)(object)factory)._grain = grain;
            return factory;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == nameof(IGrainFactory.GetGrain) && targetMethod.IsGenericMethod ? _grain : throw new NotSupportedException(targetMethod.Name);
    }

    /// <summary>A catalog the facade never reaches in these tests.</summary>
    public class Unreached : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => throw new NotSupportedException(targetMethod?.Name);
    }
}
