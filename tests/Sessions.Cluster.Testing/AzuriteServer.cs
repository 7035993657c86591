using System.Diagnostics;
using System.Text;

namespace Sessions.Cluster.Testing;

/// <summary>
/// A real Azurite (npm <c>azurite</c>, pinned in tests/servers/package-lock.json): its blob service (transcripts, grain
/// state) and table service (Orleans membership) as two local processes on free loopback ports with a throw-away data
/// folder. Both can be stopped and started again on the same ports and data, to test outages.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account.</summary>
    public const string Account = "devstoreaccount1";

    /// <summary>Azurite's well-known development key.</summary>
    public const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _location = RepoPaths.TempDir("azurite");
    private readonly StringBuilder _log = new();
    private readonly List<Process> _processes = [];

    public int Port { get; private set; } = LocalPorts.Free();

    /// <summary>Blob endpoint, path style: <c>http://127.0.0.1:port/devstoreaccount1</c>.</summary>
    public Uri BlobEndpoint => new($"http://127.0.0.1:{Port}/{Account}");

    /// <summary>Port of the table service.</summary>
    public int TablePort { get; private set; } = LocalPorts.Free();

    /// <summary>Table endpoint, path style: <c>http://127.0.0.1:port/devstoreaccount1</c>.</summary>
    public Uri TableEndpoint => new($"http://127.0.0.1:{TablePort}/{Account}");

    /// <summary>A connection string in the Azure format naming both endpoints.</summary>
    public string ConnectionString => $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint={BlobEndpoint};TableEndpoint={TableEndpoint};";

    public static async Task<AzuriteServer> StartNewAsync()
    {
        var server = new AzuriteServer();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await server.StartAsync().ConfigureAwait(false);
                return server;
            }
            catch (PortTakenException) when (attempt < 3)
            {
                // Another process took a port between its choice and Azurite's bind (tests start many servers at once):
                // start again on other free ports.
                await server.StopAsync().ConfigureAwait(false);
                (server.Port, server.TablePort) = (LocalPorts.Free(), LocalPorts.Free());
            }
        }
    }

    /// <summary>
    /// Starts both services and waits until each says it listens on its own port (a port that merely accepts connections
    /// may belong to another process that took it first).
    /// </summary>
    /// <exception cref="PortTakenException">A service exited before it listened (its port was taken).</exception>
    public async Task StartAsync()
    {
        await NodeTools.EnsureInstalledAsync(RepoPaths.ServersDir, "node_modules/azurite/package.json").ConfigureAwait(false);
        var from = Log.Length;
        Launch("blob", "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Launch("table", "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var blob = $"successfully listens on http://127.0.0.1:{Port}";
        var table = $"successfully started on 127.0.0.1:{TablePort}";
        var clock = Stopwatch.StartNew();
        // Only what this start printed counts (a restart on the same ports finds the last start's lines in the log).
        while (Log[from..] is var said && !(said.Contains(blob, StringComparison.Ordinal) && said.Contains(table, StringComparison.Ordinal)))
        {
            if (_processes.Any(p => p.HasExited))
            {
                throw new PortTakenException($"Azurite exited before it listened on {Port} and {TablePort}. Azurite said: {Log}");
            }

            if (clock.Elapsed > LocalPorts.StartTimeout)
            {
                throw new TimeoutException($"Azurite did not listen within {LocalPorts.StartTimeout.TotalSeconds:0} s. Azurite said: {Log}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        await LocalPorts.WaitListeningAsync(Port, LocalPorts.StartTimeout, () => $"Azurite said: {Log}").ConfigureAwait(false);
        await LocalPorts.WaitListeningAsync(TablePort, LocalPorts.StartTimeout, () => $"Azurite said: {Log}").ConfigureAwait(false);
    }

    /// <summary>Azurite could not listen where it was told (another process holds the port).</summary>
    public sealed class PortTakenException(string message) : InvalidOperationException(message);

    private void Launch(string service, params string[] endpoint)
    {
        var psi = new ProcessStartInfo("node") { WorkingDirectory = RepoPaths.ServersDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])[$"node_modules/azurite/dist/src/{service}/main.js", .. endpoint, "--location", _location, "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl"])
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"Azurite's {service} service did not start.");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
    }

    /// <summary>
    /// Stops both processes the way a service is stopped (SIGTERM, so Azurite saves its metadata; killed after 15 s).
    /// The data folder stays, so <see cref="StartAsync"/> resumes it.
    /// </summary>
    public async Task StopAsync()
    {
        foreach (var process in _processes)
        {
            await StopAsync(process).ConfigureAwait(false);
        }

        _processes.Clear();
    }

    private static async Task StopAsync(Process process)
    {
        if (!process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync().ConfigureAwait(false);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().ConfigureAwait(false);
            }
        }

        process.Dispose();
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
