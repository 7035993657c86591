namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>A running deployment under test: the embedded in-process server or a cluster of node processes.</summary>
public interface ITestServer : IAsyncLifetime
{
    /// <summary>URL of one node.</summary>
    Uri BaseUrl { get; }

    /// <summary>A client for the API (on a cluster, each request goes to the next node).</summary>
    HttpClient Http { get; }

    /// <summary>Runs the <c>sessions</c> CLI against the deployment; returns (exit code, stdout, stderr).</summary>
    Task<(int Code, string Out, string Err)> CliAsync(params string[] args);
}
