using System.Diagnostics;
using System.Text;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>One Sessions.Cluster server as an operating-system process (so it can be killed with SIGKILL).</summary>
public sealed class NodeProcess(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null, int? port = null) : IAsyncDisposable
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    public int Port { get; } = port ?? LocalPorts.Free();

    /// <summary>The node's command-line arguments.</summary>
    public IReadOnlyList<string> Arguments => arguments;

    public Uri Url => new($"http://127.0.0.1:{Port}/");

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The node's peak resident memory so far (Linux VmHWM), in bytes.</summary>
    public long PeakMemoryBytes => long.Parse(File.ReadLines($"/proc/{_process!.Id}/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
        .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;

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

    public async Task StartAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Sessions.Cluster.Server.dll"));
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add(Url.ToString().TrimEnd('/'));
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_gcServer"] = "0";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        _process = Process.Start(psi) ?? throw new InvalidOperationException("The node did not start.");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + LocalPorts.StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                // Read what it wrote to the end first: an exit can be seen before its last lines are.
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The node exited with {_process.ExitCode}: {Log}");
            }

            try
            {
                using var response = await http.GetAsync("health/live");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The node on {Url} did not become healthy: {Log}");
    }

    /// <summary>
    /// Sends SIGTERM, as a service manager or Kubernetes stops a node, and waits up to <paramref name="wait"/> for it
    /// to exit.
    /// </summary>
    /// <returns>How long the node took to exit, or null when it still runs after <paramref name="wait"/>.</returns>
    public async Task<TimeSpan?> TerminateAsync(TimeSpan wait)
    {
        var started = Stopwatch.GetTimestamp();
        using (var kill = Process.Start("kill", ["-TERM", _process!.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(wait);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return Stopwatch.GetElapsedTime(started);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The exit code of a node that has exited.</summary>
    public int ExitCode => _process!.ExitCode;

    /// <summary>Kills the process at once (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
