using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Sessions.Cluster.Storage.Tests")]
