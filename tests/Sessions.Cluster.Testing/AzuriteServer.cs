using System.Diagnostics;
using System.Text;

namespace Sessions.Cluster.Testing;

/// <summary>
/// A real Azurite blob service (npm <c>azurite</c>, pinned in tests/servers/package-lock.json) as a local process on a
/// free loopback port with a throw-away data folder. It can be stopped and started again on the same port and data,
/// to test outages.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string Account = "devstoreaccount1";

    /// <summary>Azurite's well-known development key.</summary>
    public const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _location = RepoPaths.TempDir("azurite");
    private readonly StringBuilder _log = new();
    private Process? _process;

    public int Port { get; } = LocalPorts.Free();

    /// <summary>Blob endpoint, path style: <c>http://127.0.0.1:port/devstoreaccount1</c>.</summary>
    public Uri BlobEndpoint => new($"http://127.0.0.1:{Port}/{Account}");

    /// <summary>A connection string in the Azure format.</summary>
    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint={BlobEndpoint};";

    public static async Task<AzuriteServer> StartNewAsync()
    {
        var server = new AzuriteServer();
        await server.StartAsync().ConfigureAwait(false);
        return server;
    }

    public async Task StartAsync()
    {
        await NodeTools.EnsureInstalledAsync(RepoPaths.ServersDir, "node_modules/azurite/package.json").ConfigureAwait(false);
        var psi = new ProcessStartInfo("node") { WorkingDirectory = RepoPaths.ServersDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "node_modules/azurite/dist/src/blob/main.js", "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--location", _location, "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl" })
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("Azurite did not start.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await LocalPorts.WaitListeningAsync(Port, TimeSpan.FromSeconds(60), () => $"Azurite said: {Log}").ConfigureAwait(false);
    }

    /// <summary>
    /// Stops the process the way a service is stopped (SIGTERM, so Azurite saves its metadata; killed after 15 s).
    /// The data folder stays, so <see cref="StartAsync"/> resumes it.
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync().ConfigureAwait(false);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        _process?.Dispose();
        _process = null;
    }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
