using System.Diagnostics;
using System.Text.Json.Nodes;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Benchmarks.EndToEnd;

/// <summary>
/// What a Claude Code user waits for (issue 24's goal: a hook's push of one turn ≤ 200 ms p50 against a local server):
/// the native <c>sessions-hook</c> (published ahead of time for this run) and the built <c>sessions</c> program's
/// <c>sessions hook</c>, each started as Claude Code starts a hook, with a <c>Stop</c> payload on stdin, after each turn
/// (three entries) of the 3 MB fixture session is added to its file, against the embedded server. The peer is the
/// <c>sessions push</c> of the same turn (what a user ran by hand before the hooks), which compares with the server's copy
/// first. Three rounds of ten turns each; min/median/max of the rounds' medians.
/// </summary>
internal sealed class HookPush(Driver driver)
{
    private const int Turns = 10;
    private const int EntriesPerTurn = 3;

    public async Task RunAsync(Driver.Node node, string bigFile)
    {
        var program = SessionsProgram();
        var native = await NativeAsync();
        var lines = File.ReadAllLines(bigFile).Where(l => l.Length > 0).ToArray();
        var nativeHook = new List<double>();
        var hook = new List<double>();
        var push = new List<double>();
        for (var round = 0; round < 3; round++)
        {
            nativeHook.Add(await RoundAsync(node, native, [], lines, round));
            hook.Add(await RoundAsync(node, program, ["hook"], lines, round));
            push.Add(await RoundAsync(node, program, ["push"], lines, round));
        }

        var peer = Stats.Median(push);
        var peerText = $"sessions push of the same turn {Stats.Ms(peer)} (rounds {Stats.Ms(push.Min())}–{Stats.Ms(push.Max())})";
        foreach (var (name, times) in new[] { ("native sessions-hook", nativeHook), ("sessions hook (the .NET CLI)", hook) })
        {
            var ours = Stats.Median(times);
            driver.Add($"hook push of one turn ({EntriesPerTurn} entries) of a 3 MB session, {name}, a process per hook, embedded",
                $"p50 {Stats.Ms(ours)} (rounds {Stats.Ms(times.Min())}–{Stats.Ms(times.Max())})", peerText, peer / ours, "≤ 200 ms p50", ours <= 200);
        }
    }

    // The median time of one round's turns: the session starts with 1,000 entries pushed, then grows a turn at a time.
    private static async Task<double> RoundAsync(Driver.Node node, string program, string[] verb, string[] lines, int round)
    {
        var config = RepoPaths.TempDir("bench-hook");
        var session = Guid.NewGuid().ToString();
        var transcript = Path.Combine(config, "projects", "bench-hook", session + ".jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(transcript)!);
        await File.WriteAllLinesAsync(transcript, lines.Take(1000));
        var payload = new JsonObject { ["session_id"] = session, ["transcript_path"] = transcript, ["cwd"] = config, ["hook_event_name"] = "Stop", ["stop_hook_active"] = false }.ToJsonString();
        string[] Args() => verb is ["push"] ? ["push", session, "--config-dir", config, "--url", node.Url.ToString()] : [.. verb, "--url", node.Url.ToString()];
        await RunAsync(program, Args(), payload);
        var times = new List<double>();
        for (var turn = 0; turn < Turns; turn++)
        {
            await File.AppendAllLinesAsync(transcript, lines.Skip(1000 + (turn * EntriesPerTurn)).Take(EntriesPerTurn));
            var clock = Stopwatch.StartNew();
            await RunAsync(program, Args(), payload);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        var expected = 1000 + (Turns * EntriesPerTurn);
        using var http = new HttpClient { BaseAddress = node.Url };
        var stored = (await http.GetStringAsync($"v1/projects/bench-hook/sessions/{session}/transcript")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        return stored == expected ? Stats.Median(times) : throw new InvalidOperationException($"round {round}: the server holds {stored} entries, not {expected}");
    }

    private static async Task RunAsync(string program, string[] args, string stdin)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await output}{await error}");
        }
    }

    // sessions-hook compiled ahead of time (dotnet publish -r linux-x64; needs clang), into this run's own folder.
    private static async Task<string> NativeAsync()
    {
        var folder = RepoPaths.TempDir("bench-native-hook");
        var start = new ProcessStartInfo("dotnet", ["publish", Path.Combine(RepoPaths.Root, "src", "Sessions.Cluster.Hook"), "-c", "Release", "-r", "linux-x64", "-o", folder]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? Path.Combine(folder, "sessions-hook") : throw new InvalidOperationException($"dotnet publish of the native hook failed (it needs clang): {output}");
    }

    // The sessions program as built beside this benchmark's configuration (the project reference builds it).
    internal static string SessionsProgram()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var program = Path.Combine(RepoPaths.Root, "src", "Sessions.Cluster.Cli", "bin", configuration, "net10.0", "sessions");
        return File.Exists(program) ? program : throw new InvalidOperationException($"{program} is missing: build src/Sessions.Cluster.Cli -c {configuration}.");
    }
}
