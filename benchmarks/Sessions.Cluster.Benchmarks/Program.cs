using Sessions.Cluster.Benchmarks;

return await BenchmarkProgram.RunAsync(args).ConfigureAwait(false);
