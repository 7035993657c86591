using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Cli;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Claude Code hooks (issue 24 §1): <c>sessions hooks install|uninstall|status</c> on real settings files, and
/// <c>sessions hook</c> fed the JSON Claude Code sends on stdin (shaped as https://code.claude.com/docs/en/hooks
/// documents it) against a live server, from a real transcript of the fixtures growing as Claude Code writes it.
/// </summary>
[Trait("Category", "Integration")]
public sealed class HookTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Project = "-home-USER-projects-spotter-worktrees-spotter-4te";
    private const string Session = "ae4a77f8-aedd-4bc1-888f-c94edc91af04";
    private const string Agent = "aac57f5";
    private readonly string _tenant = "hook-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _config = RepoPaths.TempDir("hook-config");

    private static string[] FixtureLines(string relative) =>
        File.ReadAllLines(Path.Combine(RepoPaths.ClaudeFixtures, "projects", Project, relative));

    private string MainPath => Path.Combine(_config, "projects", Project, Session + ".jsonl");

    private string AgentPath => Path.Combine(_config, "projects", Project, Session, "subagents", $"agent-{Agent}.jsonl");

    // Claude Code writes its transcript line by line: the local file grows to the first n lines of the fixture.
    private static void Grow(string path, string[] lines, int n)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Concat(lines.Take(n).Select(l => l + "\n")));
    }

    // The payloads of https://code.claude.com/docs/en/hooks ("Hook input"): common fields plus each event's own.
    private string Payload(string hookEvent, string? transcript = null) => hookEvent switch
    {
        "Stop" when transcript is not null => new JsonObject { ["session_id"] = Session, ["transcript_path"] = transcript, ["cwd"] = "/elsewhere", ["permission_mode"] = "default", ["hook_event_name"] = "Stop", ["stop_hook_active"] = false }.ToJsonString(),
        "Stop" => new JsonObject { ["session_id"] = Session, ["transcript_path"] = MainPath, ["cwd"] = "/home/USER/projects/spotter", ["permission_mode"] = "default", ["hook_event_name"] = "Stop", ["stop_hook_active"] = false, ["last_assistant_message"] = "Done." }.ToJsonString(),
        "SubagentStop" => new JsonObject { ["session_id"] = Session, ["transcript_path"] = MainPath, ["cwd"] = "/home/USER/projects/spotter", ["permission_mode"] = "default", ["hook_event_name"] = "SubagentStop", ["stop_hook_active"] = false, ["agent_id"] = Agent, ["agent_type"] = "general-purpose", ["agent_transcript_path"] = AgentPath }.ToJsonString(),
        "PreCompact" => new JsonObject { ["session_id"] = Session, ["transcript_path"] = MainPath, ["cwd"] = "/home/USER/projects/spotter", ["hook_event_name"] = "PreCompact", ["trigger"] = "auto", ["custom_instructions"] = "" }.ToJsonString(),
        "SessionEnd" => new JsonObject { ["session_id"] = Session, ["transcript_path"] = MainPath, ["cwd"] = "/home/USER/projects/spotter", ["hook_event_name"] = "SessionEnd", ["reason"] = "prompt_input_exit" }.ToJsonString(),
        _ => throw new ArgumentOutOfRangeException(nameof(hookEvent)),
    };

    private async Task<(int Code, string Out, string Err)> RunAsync(string? stdin, Uri? url, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SessionsCli.RunAsync([.. args, "--url", (url ?? server.BaseUrl).ToString(), "--tenant", _tenant], output, error, new StringReader(stdin ?? "")).ConfigureAwait(false);
        return (code, output.ToString(), error.ToString());
    }

    private async Task<byte[]?> ServerCopyAsync(string? subpath)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", _tenant);
        using var response = await http.GetAsync($"v1/projects/{Project}/sessions/{Session}/transcript" + (subpath is null ? "" : $"?subpath={Uri.EscapeDataString(subpath)}"));
        return response.IsSuccessStatusCode ? await response.Content.ReadAsByteArrayAsync() : null;
    }

    private JsonNode LastRun() => JsonNode.Parse(File.ReadAllText(Path.Combine(_config, "sessions-cluster", "hooks-status.json")))!;

    private async Task HookAsync(string hookEvent, Uri? url = null, params string[] args)
    {
        var (code, output, error) = await RunAsync(Payload(hookEvent), url, ["hook", .. args]);
        // A hook never blocks Claude Code (exit 2) nor shows it an error (any other code, or text on stderr).
        Assert.Equal((0, "", ""), (code, output, error));
    }

    [Fact]
    public async Task EveryEvent_PushesTheNewLines_OfTheTranscriptAndItsSubagents_Silently()
    {
        var main = FixtureLines(Session + ".jsonl");
        var agent = FixtureLines(Path.Combine(Session, "subagents", $"agent-{Agent}.jsonl"));
        Grow(MainPath, main, 40);
        await HookAsync("Stop");
        Assert.Equal(File.ReadAllBytes(MainPath), await ServerCopyAsync(null));
        Assert.Equal("synced", LastRun()["outcome"]!.GetValue<string>());
        Assert.Equal(40, LastRun()["appended"]!.GetValue<int>());

        Grow(MainPath, main, 300);
        Grow(AgentPath, agent, 20);
        await HookAsync("SubagentStop");
        Assert.Equal(File.ReadAllBytes(MainPath), await ServerCopyAsync(null));
        Assert.Equal(File.ReadAllBytes(AgentPath), await ServerCopyAsync($"subagents/agent-{Agent}"));

        Grow(MainPath, main, 1200);
        Grow(AgentPath, agent, agent.Length);
        await HookAsync("PreCompact");
        Grow(MainPath, main, main.Length);
        await HookAsync("SessionEnd");
        Assert.Equal(File.ReadAllBytes(MainPath), await ServerCopyAsync(null));
        Assert.Equal(File.ReadAllBytes(AgentPath), await ServerCopyAsync($"subagents/agent-{Agent}"));

        // Nothing new: nothing sent, and the server's copy was not downloaded to find that out (the sync record).
        await HookAsync("Stop");
        Assert.Equal(0, LastRun()["appended"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(_config, "sessions-cluster", "sync", Project, Session + ".json")));
        var (code, status, _) = await RunAsync(null, null, "hooks", "status", "--settings", Path.Combine(_config, "settings.json"), "--config-dir", _config);
        Assert.Equal(0, code);
        Assert.Contains($"Stop session {Session}: synced, 0 entries pushed", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_IntoAnotherConfigAndFolder_TheSdkReadsWhatTheServerAnswers_AndTheHooksPushBackIntoTheSameSession()
    {
        // Machine A: Claude Code wrote the session, its hook pushed it.
        var main = FixtureLines(Session + ".jsonl");
        var agent = FixtureLines(Path.Combine(Session, "subagents", $"agent-{Agent}.jsonl"));
        Grow(MainPath, main, main.Length);
        Grow(AgentPath, agent, agent.Length);
        await HookAsync("Stop");

        // Machine B: another config folder, a working directory with another path (and a space in it).
        var configB = RepoPaths.TempDir("machine-b");
        var cwd = Path.Combine(RepoPaths.TempDir("work"), "my project");
        Directory.CreateDirectory(cwd);
        var (code, output, error) = await RunAsync(null, null, "resume", Session, "--config-dir", configB, "--cwd", cwd, "--print-only");
        Assert.True(code == 0, error);
        var localKey = Sessions.Cluster.Core.Sdk.ProjectKeys.FromCwd(cwd);
        var pulled = Path.Combine(configB, "projects", localKey, Session + ".jsonl");
        Assert.Equal(File.ReadAllBytes(MainPath), File.ReadAllBytes(pulled));
        Assert.Equal(File.ReadAllBytes(AgentPath), File.ReadAllBytes(Path.Combine(configB, "projects", localKey, Session, "subagents", $"agent-{Agent}.jsonl")));
        Assert.Contains($"cd '{cwd}' && CLAUDE_CONFIG_DIR='{configB}' claude --resume {Session}", output, StringComparison.Ordinal);

        // The SDK, run as Claude Code would be in that directory, reads the messages the server answers.
        var sdk = await SdkOracle.MessagesAsync(configB, Session, cwd);
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", _tenant);
        var ours = JsonNode.Parse(await http.GetStringAsync($"v1/projects/{Project}/sessions/{Session}/messages"))!;
        Assert.NotEmpty(sdk);
        Assert.True(JsonNode.DeepEquals(sdk, ours), "the SDK's messages of the pulled file differ from the server's");

        // Claude Code on B adds a turn: B's hook pushes it into the same session on the server, not a copy under B's key.
        await File.AppendAllTextAsync(pulled, Calls.Entry("on-b-1") + "\n" + Calls.Entry("on-b-2") + "\n");
        var (hookCode, hookOut, hookErr) = await RunAsync(Payload("Stop", pulled), null, "hook");
        Assert.Equal((0, "", ""), (hookCode, hookOut, hookErr));
        Assert.Equal(File.ReadAllBytes(pulled), await ServerCopyAsync(null));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync($"v1/projects/{localKey}/sessions/{Session}")).StatusCode);

        // A local line the server lacks is never overwritten by a resume.
        await File.AppendAllTextAsync(pulled, Calls.Entry("on-b-3") + "\n");
        var before = File.ReadAllBytes(pulled);
        (code, _, error) = await RunAsync(null, null, "resume", Session, "--config-dir", configB, "--cwd", cwd, "--print-only");
        Assert.Equal(ExitCodes.Conflict, code);
        Assert.Contains("was never pushed", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(pulled));

        // continue: the latest session of a project.
        var configC = RepoPaths.TempDir("machine-c");
        (code, output, error) = await RunAsync(null, null, "continue", "--project", Project, "--config-dir", configC, "--cwd", cwd, "--print-only");
        Assert.True(code == 0, error);
        Assert.Contains($"claude --resume {Session}", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(configC, "projects", localKey, Session + ".jsonl")));
        (code, _, error) = await RunAsync(null, null, "continue", "--config-dir", configC, "--cwd", cwd, "--print-only");
        Assert.Equal(ExitCodes.NotFound, code);
        Assert.Contains("has no session on the server", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_OnAMachineWhereTheFolderHasTheSamePath_WritesWhereClaudeCodeLooks_WithNoLink()
    {
        var cwd = RepoPaths.TempDir("same-path");
        var key = Sessions.Cluster.Core.Sdk.ProjectKeys.FromCwd(cwd);
        var id = Guid.NewGuid().ToString();
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", _tenant);
        Assert.True((await http.PostAsync($"v1/projects/{key}/sessions/{id}/entries", Calls.Json("[" + Calls.Entry("s1") + "]"))).IsSuccessStatusCode);
        var config = RepoPaths.TempDir("same-path-config");
        var (code, _, error) = await RunAsync(null, null, "resume", id, "--config-dir", config, "--cwd", cwd, "--print-only");
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(config, "projects", key, id + ".jsonl")));
        Assert.False(Directory.Exists(Path.Combine(config, "sessions-cluster", "links")));
    }

    [Fact]
    public async Task ServerDown_TheHookReturnsWithinItsBudget_ExitsZero_AndTheNextOneCatchesUp()
    {
        var main = FixtureLines(Session + ".jsonl");
        Grow(MainPath, main, 100);
        // Nothing listens there; a blackholed address would show the budget too, but loopback refuses at once.
        var down = new Uri($"http://127.0.0.1:{LocalPorts.Free()}/");
        var clock = Stopwatch.StartNew();
        await HookAsync("Stop", down, "--timeout-ms", "1500");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the hook took {clock.Elapsed}");
        Assert.Contains(LastRun()["outcome"]!.GetValue<string>(), new[] { "failed", "timed out" });
        Assert.Null(await ServerCopyAsync(null));

        Grow(MainPath, main, 150);
        await HookAsync("Stop");
        Assert.Equal(File.ReadAllBytes(MainPath), await ServerCopyAsync(null));
    }

    [Fact]
    public async Task ADivergedServerCopy_IsReported_NeverPushedOver_AndRunsAtOnceNeverDuplicateALine()
    {
        var main = FixtureLines(Session + ".jsonl");
        // Four hooks of one session at once (Stop and SubagentStop of two Claude Code windows): one at a time.
        Grow(MainPath, main, 500);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => HookAsync("Stop")));
        Assert.Equal(File.ReadAllBytes(MainPath), await ServerCopyAsync(null));

        // Another machine appended to the server's copy: the local file no longer continues it.
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", _tenant);
        Assert.True((await http.PostAsync($"v1/projects/{Project}/sessions/{Session}/entries", Calls.Json("[" + Calls.Entry("elsewhere-1") + "]"))).IsSuccessStatusCode);
        var before = await ServerCopyAsync(null);
        Grow(MainPath, main, 520);
        await HookAsync("Stop");
        Assert.Equal(before, await ServerCopyAsync(null));
        Assert.Equal("diverged", LastRun()["outcome"]!.GetValue<string>());
        Assert.Contains(MainPath, LastRun()["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_ExitsZero_PrintsNothing_AndSaysWhyInTheStatus()
    {
        foreach (var stdin in new[] { "", "{not json", "[]", """{"session_id":"x"}""", """{"session_id":"x","transcript_path":"/etc/passwd","hook_event_name":"Stop"}""" })
        {
            var (code, output, error) = await RunAsync(stdin, null, "hook", "--config-dir", _config);
            Assert.Equal((0, "", ""), (code, output, error));
            Assert.Equal("skipped", LastRun()["outcome"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Install_KeepsEveryOtherSettingAndHook_BacksUp_IsIdempotent_AndUninstallRemovesExactlyOurs()
    {
        var settings = Path.Combine(_config, "settings.json");
        var original = """
            {
              "model": "opus",
              "permissions": { "allow": ["Bash(ls:*)"] },
              "hooks": {
                "Stop": [ { "hooks": [ { "type": "command", "command": "notify-send done" } ] } ],
                "PreToolUse": [ { "matcher": "Bash", "hooks": [ { "type": "command", "command": "audit.sh", "timeout": 5 } ] } ]
              }
            }
            """;
        await File.WriteAllTextAsync(settings, original);
        var (code, output, error) = await RunAsync(null, null, "hooks", "install", "--settings", settings, "--command", "'/opt/my tools/sessions'", "--api-key-env", "MY_KEY");
        Assert.True(code == 0, error);
        var installed = JsonNode.Parse(await File.ReadAllTextAsync(settings))!;
        Assert.Equal("opus", installed["model"]!.GetValue<string>());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(original)!["permissions"], installed["permissions"]));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(original)!["hooks"]!["PreToolUse"], installed["hooks"]!["PreToolUse"]));
        var stop = (JsonArray)installed["hooks"]!["Stop"]!;
        Assert.Equal("notify-send done", stop[0]!["hooks"]![0]!["command"]!.GetValue<string>());
        var ours = stop[1]!["hooks"]![0]!;
        Assert.Equal($"'/opt/my tools/sessions' hook --url '{server.BaseUrl}' --tenant {_tenant} --api-key-env MY_KEY #sessions-cluster-hook", ours["command"]!.GetValue<string>());
        Assert.True(ours["async"]!.GetValue<bool>());
        foreach (var name in new[] { "SubagentStop", "PreCompact", "SessionEnd" })
        {
            Assert.Single((JsonArray)installed["hooks"]![name]!);
        }

        Assert.Null(installed["hooks"]!["SessionEnd"]![0]!["hooks"]![0]!["async"]);
        var backups = Directory.GetFiles(_config, "settings.json.bak-*");
        Assert.Equal(original, await File.ReadAllTextAsync(Assert.Single(backups)));
        Assert.Contains("Installed", output, StringComparison.Ordinal);

        (code, output, _) = await RunAsync(null, null, "hooks", "install", "--settings", settings, "--command", "'/opt/my tools/sessions'", "--api-key-env", "MY_KEY");
        Assert.Equal(0, code);
        Assert.Contains("already installed", output, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(_config, "settings.json.bak-*"));

        (code, output, _) = await RunAsync(null, null, "hooks", "status", "--settings", settings);
        Assert.Contains("installed for Stop, SubagentStop, PreCompact, SessionEnd", output, StringComparison.Ordinal);

        (code, _, error) = await RunAsync(null, null, "hooks", "uninstall", "--settings", settings);
        Assert.True(code == 0, error);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(original), JsonNode.Parse(await File.ReadAllTextAsync(settings))));
        (_, output, _) = await RunAsync(null, null, "hooks", "status", "--settings", settings);
        Assert.Contains("not installed", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ \"model\": ", "is not valid JSON")]
    [InlineData("[1, 2]", "does not hold a JSON object")]
    [InlineData("{\"hooks\": []}", "\"hooks\" is not an object")]
    public async Task Install_RefusesAFileItCannotMerge_LeavingItUntouched(string content, string message)
    {
        var settings = Path.Combine(_config, "settings.json");
        await File.WriteAllTextAsync(settings, content);
        var (code, _, error) = await RunAsync(null, null, "hooks", "install", "--settings", settings);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal(content, await File.ReadAllTextAsync(settings));
        Assert.Empty(Directory.GetFiles(_config, "settings.json.bak-*"));
    }

    [Fact]
    public async Task Install_NeverWritesAnApiKey_AndThePluginShipsTheSameHooks()
    {
        var settings = Path.Combine(_config, "settings.json");
        var (code, _, error) = await RunAsync(null, null, "hooks", "install", "--settings", settings, "--api-key", "secret");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--api-key-env", error, StringComparison.Ordinal);
        Assert.False(File.Exists(settings));

        // The plugin's hooks are what install writes for a 'sessions' on PATH that reads SESSIONS_URL.
        using var output = new StringWriter();
        using var errors = new StringWriter();
        Assert.Equal(0, await SessionsCli.RunAsync(["hooks", "install", "--settings", settings, "--command", "sessions"], output, errors));
        var plugin = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "plugins", "claude-code", "sessions-cluster", "hooks", "hooks.json")))!;
        Assert.True(JsonNode.DeepEquals(plugin["hooks"], JsonNode.Parse(await File.ReadAllTextAsync(settings))!["hooks"]), "the plugin's hooks.json differs from what install writes");
        Assert.Equal("sessions-cluster", JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "plugins", "claude-code", "sessions-cluster", ".claude-plugin", "plugin.json")))!["name"]!.GetValue<string>());
    }
}
