namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// One three-node cluster (with its Azurite and PostgreSQL) shared by the test classes that only read and write
/// sessions on it, instead of a cluster each. Classes that kill nodes or stop storage keep their own.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<ClusterFixture>
{
    /// <summary>The collection's name, for <c>[Collection(SharedClusterCollection.Name)]</c>.</summary>
    public const string Name = "Shared cluster";
}
