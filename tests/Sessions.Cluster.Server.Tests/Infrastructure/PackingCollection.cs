namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// The tests that run <c>dotnet pack</c> on the repository's projects (the CLI as a tool, the client and Agent Framework
/// packages) run one after the other: two packs at once build the shared client project's Release output together.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackingCollection
{
    /// <summary>The collection's name, for <c>[Collection(PackingCollection.Name)]</c>.</summary>
    public const string Name = "dotnet pack";
}
