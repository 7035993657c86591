namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// The tests that SIGKILL servers under sixteen writers (the cluster's and the embedded server's) run one after the
/// other. In one full run on two cores, with both at once, the cluster's took 19 minutes instead of 2–4 and Azurite cut a
/// 4 MB download short ("response ended prematurely"); alone it passed in 4.5 minutes.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ProcessKillsCollection
{
    /// <summary>The collection's name, for <c>[Collection(ProcessKillsCollection.Name)]</c>.</summary>
    public const string Name = "Process kills";
}
