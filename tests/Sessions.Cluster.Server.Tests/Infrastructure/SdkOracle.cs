using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Server.Tests.Infrastructure;

/// <summary>
/// Runs the real @anthropic-ai/claude-agent-sdk (pinned in tests/sdk-oracle/package-lock.json, installed with
/// <c>npm ci</c> on first use) on a CLAUDE_CONFIG_DIR and returns its answers as JSON. A missing node/npm fails the
/// test with the command that installs them; nothing is skipped.
/// </summary>
internal static class SdkOracle
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static bool _installed;

    /// <summary>The SDK's listSessions() over every project of <paramref name="configDir"/>.</summary>
    public static async Task<JsonArray> ListSessionsAsync(string configDir) => (JsonArray)JsonNode.Parse(await RunAsync(configDir, "list").ConfigureAwait(false))!;

    /// <summary>The SDK's info, messages, subagents and forks of every session of <paramref name="configDir"/>.</summary>
    public static async Task<JsonObject> DumpAsync(string configDir) => (JsonObject)JsonNode.Parse(await RunAsync(configDir, "dump").ConfigureAwait(false))!;

    private static async Task<string> RunAsync(string configDir, params string[] args)
    {
        await EnsureInstalledAsync().ConfigureAwait(false);
        var psi = new ProcessStartInfo("node") { WorkingDirectory = RepoPaths.OracleDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("oracle.mjs");
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["CLAUDE_CONFIG_DIR"] = configDir;
        var (code, stdout, stderr) = await ExecAsync(psi).ConfigureAwait(false);
        return code == 0 ? stdout : throw new InvalidOperationException($"The SDK oracle failed ({code}): {stderr}");
    }

    private static async Task EnsureInstalledAsync()
    {
        await InstallLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_installed)
            {
                return;
            }

            if (!File.Exists(Path.Combine(RepoPaths.OracleDir, "node_modules", "@anthropic-ai", "claude-agent-sdk", "package.json")))
            {
                var psi = new ProcessStartInfo("npm") { WorkingDirectory = RepoPaths.OracleDir, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "ci", "--no-audit", "--no-fund" })
                {
                    psi.ArgumentList.Add(a);
                }

                var (code, _, stderr) = await ExecAsync(psi).ConfigureAwait(false);
                if (code != 0)
                {
                    throw new InvalidOperationException($"'npm ci' in {RepoPaths.OracleDir} failed ({code}): {stderr}");
                }
            }

            _installed = true;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> ExecAsync(ProcessStartInfo psi)
    {
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{psi.FileName}' is not installed: the SDK oracle needs Node.js 18+ and npm (Debian: apt-get install -y nodejs npm).", ex);
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
