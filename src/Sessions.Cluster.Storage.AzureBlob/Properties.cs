using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("Sessions.Cluster.Storage.Tests")]
[assembly: InternalsVisibleTo("Sessions.Cluster.Server.Tests")]
[assembly: InternalsVisibleTo("Sessions.Cluster.Grains.Tests")]
