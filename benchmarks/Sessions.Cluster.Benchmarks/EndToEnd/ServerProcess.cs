using System.Diagnostics;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// The embedded server as its own process, started the way the README starts it (the benchmark's build output holds the
/// server's), on a free port with its data in a fresh temporary folder; ready when it answers <c>/health/ready</c>.
/// Disposing kills it.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    /// <summary>The server's base address.</summary>
    public Uri Url { get; }

    /// <summary>The process id (for <c>/proc</c>).</summary>
    public int Id => _process.Id;

    /// <summary>Starts a server with its data in <c>RepoPaths.TempDir(dataDirName)</c>, these extra arguments, log level Warning.</summary>
    public static async Task<ServerProcess> StartAsync(string dataDirName, params string[] arguments)
    {
        var port = LocalPorts.Free();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Sessions.Cluster.Server.dll"), "--urls", $"http://127.0.0.1:{port}",
            "--Sessions:DataDir", RepoPaths.TempDir(dataDirName), "--Logging:LogLevel:Default", "Warning" }.Concat(arguments))
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            using var http = new HttpClient { BaseAddress = server.Url };
            await Driver.WaitReadyAsync(http);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
