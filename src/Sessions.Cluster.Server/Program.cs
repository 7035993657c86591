using Sessions.Cluster.Server;

var app = SessionsServer.Build(args);
await app.RunAsync().ConfigureAwait(false);
