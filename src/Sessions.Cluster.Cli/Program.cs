using Sessions.Cluster.Cli;

return await SessionsCli.RunAsync(args).ConfigureAwait(false);
