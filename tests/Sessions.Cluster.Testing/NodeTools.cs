using System.Diagnostics;

namespace Sessions.Cluster.Testing;

/// <summary>
/// Runs node and npm for the tests. A missing tool fails with the command that installs it; nothing is skipped.
/// Packages are installed with <c>npm ci</c> from each folder's committed lockfile, once per test run.
/// </summary>
public static class NodeTools
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static readonly HashSet<string> Installed = new(StringComparer.Ordinal);

    /// <summary>
    /// Runs <c>npm ci</c> in <paramref name="dir"/> unless <paramref name="probe"/> (relative to it) already exists and
    /// the install is not older than the lockfile (a moved pin, e.g. a new SDK version, installs again).
    /// </summary>
    public static async Task EnsureInstalledAsync(string dir, string probe)
    {
        await InstallLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Installed.Contains(dir))
            {
                return;
            }

            var installed = Path.Combine(dir, "node_modules", ".package-lock.json");
            var stale = !File.Exists(installed) || File.GetLastWriteTimeUtc(installed) < File.GetLastWriteTimeUtc(Path.Combine(dir, "package-lock.json"));
            if (stale || !File.Exists(Path.Combine(dir, probe)))
            {
                // Under a file lock, checked again inside it: another process (the app host's test, a second test run)
                // may be installing the same folder at this moment, and two npm ci in one folder break each other.
                var (code, output) = await RunAsync("flock", dir, null, Path.Combine(dir, ".npm-ci.lock"), "bash", "-c",
                    $"[ -f '{probe}' ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund").ConfigureAwait(false);
                if (code != 0)
                {
                    throw new InvalidOperationException($"'npm ci' in {dir} failed ({code}): {output}");
                }
            }

            Installed.Add(dir);
        }
        finally
        {
            InstallLock.Release();
        }
    }

    /// <summary>Runs a tool; returns its exit code and its stdout followed by its stderr.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string tool, string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        var (code, stdout, stderr) = await RunSplitAsync(tool, workingDirectory, environment, args).ConfigureAwait(false);
        return (code, stdout + stderr);
    }

    /// <summary>Runs a tool; returns its exit code, stdout and stderr apart.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunSplitAsync(string tool, string workingDirectory, IDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{tool}' is not installed: the tests need Node.js 18+ and npm (Debian: apt-get install -y nodejs npm).", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().ConfigureAwait(false);
            return (process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }
}
