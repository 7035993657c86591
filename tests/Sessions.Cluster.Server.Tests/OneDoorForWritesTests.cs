using System.Reflection;
using Sessions.Cluster.Core.Sessions;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// A session is written through its grain alone (issue 23 §3): <see cref="SessionService"/>'s writes are internal to
/// Core and visible only to the grains (and tests), so no handler, console page or CLI path on the server can call them.
/// </summary>
[Trait("Category", "Unit")]
public sealed class OneDoorForWritesTests
{
    private static readonly string[] Writes =
        ["AppendAsync", "AppendTogetherAsync", "PutSummaryAsync", "DeleteAsync", "RenameAsync", "TagAsync", "ExpireAsync", "PurgeAsync", "RestoreAsync", "MakeEphemeral", "SnapshotForkAsync", "WriteForkAsync", "DropFailedForkAsync"];

    [Fact]
    public void SessionService_ShowsTheServerNoWriteMethod()
    {
        var shown = typeof(SessionService).GetMethods(BindingFlags.Public | BindingFlags.Instance).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(Writes, w => Assert.DoesNotContain(w, shown));
        var hidden = typeof(SessionService).GetMethods(BindingFlags.NonPublic | BindingFlags.Instance).Where(m => m.IsAssembly).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(Writes, w => Assert.Contains(w, hidden));
        var friends = typeof(SessionService).Assembly.GetCustomAttributes<System.Runtime.CompilerServices.InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToList();
        Assert.DoesNotContain(typeof(SessionsServer).Assembly.GetName().Name, friends);
        Assert.Contains("Sessions.Cluster.Grains", friends);
    }
}
