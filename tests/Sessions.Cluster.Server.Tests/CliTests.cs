using System.Text.Json.Nodes;
using Sessions.Cluster.Cli;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>The <c>sessions</c> CLI against a live server: every verb, JSON output, exit codes, push/pull round trip.</summary>
[Trait("Category", "Integration")]
[Collection(PackingCollection.Name)]
public sealed class CliTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string FixtureSession = "609efeca-2f51-4118-b077-e91c9fe63f73";
    private const string FixtureProject = "-Users-philipp-dev-studio";

    // Each test works in a tenant of its own, so tests sharing the server never see each other's sessions.
    private readonly string _tenant = "cli-" + Guid.NewGuid().ToString("N")[..10];

    private Task<(int Code, string Out, string Err)> Cli(params string[] args) => server.CliAsync([.. args, "--tenant", _tenant]);

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Messages_ShowsEachToolCallWithItsToolsName()
    {
        var id = Guid.NewGuid().ToString();
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", _tenant);
        var body = """[{"type":"user","uuid":"u1","message":{"role":"user","content":"list files"}},{"type":"assistant","uuid":"a1","parentUuid":"u1","message":{"role":"assistant","content":[{"type":"text","text":"Sure."},{"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls"}}]}}]""";
        Assert.True((await http.PostAsync($"v1/projects/tools/sessions/{id}/entries", Infrastructure.Calls.Json(body))).IsSuccessStatusCode);
        var (code, output, error) = await Cli("messages", id);
        Assert.True(code == 0, error);
        Assert.Contains("Sure. <tool_use: Bash>", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("import", "--help")]
    [InlineData("pull", "--help")]
    [InlineData("list", "--help")]
    [InlineData("trash", "restore", "--help")]
    [InlineData("resume", "--help")]
    [InlineData("continue", "--help")]
    [InlineData("hooks", "install", "--help")]
    [InlineData("hook", "--help")]
    public async Task Help_IsPrintedForEveryVerb(params string[] args)
    {
        var (code, output, _) = await Cli(args);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ListsTheExitCodes_AndJsonOutputIsPlainUtf8()
    {
        var (_, help, _) = await Cli("--help");
        Assert.Contains($"{ExitCodes.Conflict} conflict", help, StringComparison.Ordinal);
        await ImportOneAsync();
        Assert.Equal(0, (await Cli("rename", FixtureSession, "l'été \"quoted\" <b>")).Code);
        var (_, shown, _) = await Cli("show", FixtureSession, "--format", "json");
        Assert.Contains("l'été \\\"quoted\\\" <b>", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u0027", shown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProjectsLatestSearchSubagents_AnswerFromTheImportedFixtures()
    {
        var fixtures = Path.Combine(RepoPaths.ClaudeFixtures, "projects");
        Assert.Equal(0, (await Cli("import", RepoPaths.ClaudeFixtures)).Code);

        // projects: every fixture project, with as many sessions as it has transcripts.
        var (_, projectsOut, _) = await Cli("projects", "--format", "json");
        var projects = ((JsonArray)JsonNode.Parse(projectsOut)!).ToDictionary(p => p!["projectKey"]!.GetValue<string>(), p => p!["sessions"]!.GetValue<int>());
        foreach (var dir in Directory.GetDirectories(fixtures))
        {
            Assert.Equal(Directory.GetFiles(dir, "*.jsonl").Length, projects[Path.GetFileName(dir)]);
        }

        // latest: the transcript with the newest mtime (what claude --continue picks), by project key or by cwd.
        const string project = "-home-marco-projects-spotter";
        var newest = Directory.GetFiles(Path.Combine(fixtures, project), "*.jsonl").MaxBy(File.GetLastWriteTimeUtc)!;
        var (_, byProject, _) = await Cli("latest", "--project", project, "--format", "json");
        Assert.Equal(Path.GetFileNameWithoutExtension(newest), JsonNode.Parse(byProject)!["sessionId"]!.GetValue<string>());
        var (_, byCwd, _) = await Cli("latest", "--cwd", "/home/marco/projects/spotter", "--format", "json");
        Assert.Equal(byProject, byCwd);

        // search: by id prefix and by words of a summary, across projects.
        var (_, shown, _) = await Cli("show", FixtureSession, "--format", "json");
        var words = JsonNode.Parse(shown)!["summary"]!.GetValue<string>()[..12].ToUpperInvariant();
        foreach (var text in new[] { FixtureSession[..8], words })
        {
            var (_, found, _) = await Cli("search", text, "--titles", "--limit", "50", "--format", "json");
            Assert.Contains(((JsonArray)JsonNode.Parse(found)!["sessions"]!).OfType<JsonObject>(), f => f["sessionId"]!.GetValue<string>() == FixtureSession);
        }

        // subagents and one subagent's messages.
        const string parent = "4d5611e5-241a-462a-8d15-5122611a9569";
        var (_, agentsOut, _) = await Cli("subagents", parent, "--format", "json");
        var agents = ((JsonArray)JsonNode.Parse(agentsOut)!).Select(a => a!.GetValue<string>()).Order().ToList();
        Assert.Equal(["a2898e3", "acompact-e1f845"], agents);
        var (code, agentMessages, err) = await Cli("messages", parent, "--agent", "a2898e3", "--format", "json");
        Assert.True(code == 0, err);
        using var client = server.CreateClient(_tenant);
        var expected = await client.GetSubagentMessagesAsync("-home-USER-projects-spotter-worktrees-spotter-dov", parent, "a2898e3", null, null, CancellationToken.None);
        Assert.NotEmpty(expected);
        Assert.True(JsonNode.DeepEquals(expected, JsonNode.Parse(agentMessages)));

        // Piped table output keeps ids whole, one row per line, tab-separated.
        var (_, table, _) = await Cli("list", "--project", project);
        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Session\tModified (UTC)\tProject\tTag\tSummary", rows[0]);
        Assert.All(rows.Skip(1), r => Assert.Matches("^[0-9a-f-]{36}\t", r));
    }

    [Fact]
    public async Task DotnetTool_PacksInstallsAndRunsAgainstTheServer_AsTheReadmeSays()
    {
        // README: dotnet pack src/Sessions.Cluster.Cli -o <folder>, then dotnet tool install --add-source <folder>.
        var packages = RepoPaths.TempDir("tool-packages");
        var tools = RepoPaths.TempDir("tool-path");
        var cli = Path.Combine(RepoPaths.Root, "src", "Sessions.Cluster.Cli");
        var (packCode, packOut) = await NodeTools.RunAsync("dotnet", RepoPaths.Root, null, "pack", cli, "-c", "Release", "-o", packages);
        Assert.True(packCode == 0, packOut);
        var (installCode, installOut) = await NodeTools.RunAsync("dotnet", RepoPaths.Root, null, "tool", "install", "--tool-path", tools, "--add-source", packages, "Sessions.Cluster.Cli");
        Assert.True(installCode == 0, installOut);

        await ImportOneAsync();
        var (code, output) = await NodeTools.RunAsync(Path.Combine(tools, "sessions"), RepoPaths.Root, null, "show", FixtureSession, "--url", server.BaseUrl.ToString(), "--tenant", _tenant, "--format", "json");
        Assert.True(code == 0, output);
        Assert.Equal(FixtureSession, JsonNode.Parse(output)!["sessionId"]!.GetValue<string>());

        // The installed tool writes hooks that run itself; Claude Code runs a hook's command through a shell with the
        // payload on stdin: so does this.
        var config = RepoPaths.TempDir("tool-hook");
        var settings = Path.Combine(config, "settings.json");
        (code, output) = await NodeTools.RunAsync(Path.Combine(tools, "sessions"), RepoPaths.Root, null, "hooks", "install", "--settings", settings, "--url", server.BaseUrl.ToString(), "--tenant", _tenant);
        Assert.True(code == 0, output);
        var hook = JsonNode.Parse(await File.ReadAllTextAsync(settings))!["hooks"]!["Stop"]![0]!["hooks"]![0]!["command"]!.GetValue<string>();
        Assert.StartsWith(Path.Combine(tools, "sessions"), hook.TrimStart('\''), StringComparison.Ordinal);
        var id = Guid.NewGuid().ToString();
        var transcript = Path.Combine(config, "projects", "hooked", id + ".jsonl");
        Directory.CreateDirectory(Path.GetDirectoryName(transcript)!);
        await File.WriteAllTextAsync(transcript, Calls.Entry("h1") + "\n" + Calls.Entry("h2") + "\n");
        var psi = new System.Diagnostics.ProcessStartInfo("bash", ["-c", hook]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using (var run = System.Diagnostics.Process.Start(psi)!)
        {
            await run.StandardInput.WriteAsync(new JsonObject { ["session_id"] = id, ["transcript_path"] = transcript, ["cwd"] = config, ["hook_event_name"] = "Stop", ["stop_hook_active"] = false }.ToJsonString());
            run.StandardInput.Close();
            var (stdout, stderr) = (await run.StandardOutput.ReadToEndAsync(), await run.StandardError.ReadToEndAsync());
            await run.WaitForExitAsync();
            Assert.Equal((0, "", ""), (run.ExitCode, stdout, stderr));
        }

        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", _tenant);
        Assert.Equal(await File.ReadAllTextAsync(transcript), await http.GetStringAsync($"v1/projects/hooked/sessions/{id}/transcript"));

        // README: the native sessions-hook published beside the tool is what install writes from then on, and it pushes
        // the next turn the same way (through bash, the payload on stdin, silent, exit 0).
        var (publishCode, publishOut) = await NodeTools.RunAsync("dotnet", RepoPaths.Root, null, "publish", Path.Combine(RepoPaths.Root, "src", "Sessions.Cluster.Hook"), "-c", "Release", "-r", "linux-x64", "-o", tools);
        Assert.True(publishCode == 0, "The native hook did not compile (it needs clang: apt-get install -y clang): " + publishOut);
        (code, output) = await NodeTools.RunAsync(Path.Combine(tools, "sessions"), RepoPaths.Root, null, "hooks", "install", "--settings", settings, "--url", server.BaseUrl.ToString(), "--tenant", _tenant);
        Assert.True(code == 0, output);
        hook = JsonNode.Parse(await File.ReadAllTextAsync(settings))!["hooks"]!["Stop"]![0]!["hooks"]![0]!["command"]!.GetValue<string>();
        Assert.StartsWith(Path.Combine(tools, "sessions-hook") + " --url", hook.TrimStart('\'').Replace("'", "", StringComparison.Ordinal), StringComparison.Ordinal);
        await File.AppendAllTextAsync(transcript, Calls.Entry("h3") + "\n");
        using (var run = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("bash", ["-c", hook]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            await run.StandardInput.WriteAsync(new JsonObject { ["session_id"] = id, ["transcript_path"] = transcript, ["cwd"] = config, ["hook_event_name"] = "Stop", ["stop_hook_active"] = false }.ToJsonString());
            run.StandardInput.Close();
            var (stdout, stderr) = (await run.StandardOutput.ReadToEndAsync(), await run.StandardError.ReadToEndAsync());
            await run.WaitForExitAsync();
            Assert.Equal((0, "", ""), (run.ExitCode, stdout, stderr));
        }

        Assert.Equal(await File.ReadAllTextAsync(transcript), await http.GetStringAsync($"v1/projects/hooked/sessions/{id}/transcript"));
        Assert.Equal(1, JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(config, "sessions-cluster", "hooks-status.json")))!["appended"]!.GetValue<int>());
    }

    [Fact]
    public async Task Serve_UnknownOption_IsRefused_ConfigurationKeysAreNot()
    {
        var (code, _, _) = await server.CliAsync("serve", "--no-such-option", "x");
        Assert.Equal(ExitCodes.InvalidInput, code);
        var (_, help, _) = await server.CliAsync("serve", "--help");
        Assert.Contains("--Sessions:<Key> <value>", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbs_RenameTagListShowMessagesForkRm_WorkTogether_AndMatchTheSdkAfterPull()
    {
        var config = await ImportOneAsync();
        Assert.Equal(0, (await Cli("rename", FixtureSession, "Catalog design, take two")).Code);
        Assert.Equal(0, (await Cli("tag", FixtureSession, "review")).Code);

        var (code, listed, _) = await Cli("list", "--project", FixtureProject, "--tag", "review", "--format", "json");
        Assert.Equal(0, code);
        var only = Assert.Single(((JsonArray)JsonNode.Parse(listed)!["sessions"]!).OfType<JsonObject>());
        Assert.Equal("Catalog design, take two", only["summary"]!.GetValue<string>());

        var (_, shown, _) = await Cli("show", FixtureSession, "--format", "json");
        var info = JsonNode.Parse(shown)!;
        Assert.Equal("review", info["tag"]!.GetValue<string>());
        Assert.Equal("Catalog design, take two", info["customTitle"]!.GetValue<string>());

        // The SDK reads the renamed and tagged transcript the same way we do.
        var pulled = RepoPaths.TempDir("pulled");
        Assert.Equal(0, (await Cli("pull", FixtureSession, "--config-dir", pulled)).Code);
        var sdk = (JsonObject)(await SdkOracle.ListSessionsAsync(pulled)).Single()!;
        Assert.Equal(info["customTitle"]!.GetValue<string>(), sdk["customTitle"]!.GetValue<string>());
        Assert.Equal(info["tag"]!.GetValue<string>(), sdk["tag"]!.GetValue<string>());
        Assert.Equal(info["summary"]!.GetValue<string>(), sdk["summary"]!.GetValue<string>());

        var (_, messages, _) = await Cli("messages", FixtureSession, "--format", "json", "--limit", "2");
        var firstTwo = (JsonArray)JsonNode.Parse(messages)!;
        Assert.Equal(2, firstTwo.Count);

        var (forkCode, forkOut, forkErr) = await Cli("fork", FixtureSession, "--at", firstTwo[1]!["uuid"]!.GetValue<string>(), "--title", "branch", "--format", "json");
        Assert.True(forkCode == 0, forkErr);
        var forkId = JsonNode.Parse(forkOut)!["sessionId"]!.GetValue<string>();
        var (_, forkShown, _) = await Cli("show", forkId, "--format", "json");
        Assert.Equal("branch", JsonNode.Parse(forkShown)!["summary"]!.GetValue<string>());
        Assert.Equal(FixtureSession, JsonNode.Parse(forkShown)!["forkedFrom"]!.GetValue<string>());

        Assert.Equal(0, (await Cli("tag", FixtureSession, "--clear")).Code);
        Assert.Equal(0, (await Cli("rm", forkId, "--yes")).Code);
        Assert.Equal(ExitCodes.NotFound, (await Cli("show", forkId)).Code);
        var (_, afterClear, _) = await Cli("show", FixtureSession, "--format", "json");
        Assert.Null(JsonNode.Parse(afterClear)!["tag"]);
        Assert.True(Directory.Exists(config));
    }

    [Fact]
    public async Task Push_AfterAClaudeCodeHostAppendsLocally_SendsOnlyTheNewLines()
    {
        var (host, file) = await ImportAndPullAsync("host-b");
        var appended = new[]
        {
            Calls.Entry(Guid.NewGuid().ToString(), text: "resumed on host B"),
            Calls.Entry(Guid.NewGuid().ToString(), type: "assistant", text: "hello from B"),
        };
        await File.AppendAllTextAsync(file, string.Join('\n', appended) + "\n");

        var (code, output, err) = await Cli("push", FixtureSession, "--config-dir", host, "--format", "json");
        Assert.True(code == 0, err);
        Assert.Equal(2, JsonNode.Parse(output)![0]!["appended"]!.GetValue<int>());
        using var client = server.CreateClient(_tenant);
        Assert.Equal(await File.ReadAllBytesAsync(file), await client.GetTranscriptAsync(FixtureProject, FixtureSession, null, CancellationToken.None));

        var (again, againOut, _) = await Cli("push", FixtureSession, "--config-dir", host, "--format", "json");
        Assert.Equal(0, again);
        Assert.Equal(0, JsonNode.Parse(againOut)![0]!["appended"]!.GetValue<int>());
    }

    [Fact]
    public async Task Pull_OverLocalLinesNeverPushed_RefusesNamingThem_AndForceKeepsABackup()
    {
        var (host, file) = await ImportAndPullAsync("host-d");
        var subagent = Path.Combine(host, "projects", FixtureProject, FixtureSession, "subagents", "agent-local.jsonl");
        await File.AppendAllTextAsync(file, Calls.Entry(Guid.NewGuid().ToString(), text: "only here") + "\n" + Calls.Entry(Guid.NewGuid().ToString(), text: "and here") + "\n");
        Directory.CreateDirectory(Path.GetDirectoryName(subagent)!);
        await File.WriteAllTextAsync(subagent, Calls.Entry(Guid.NewGuid().ToString(), text: "subagent work") + "\n");
        var local = await File.ReadAllBytesAsync(file);

        var (code, _, err) = await Cli("pull", FixtureSession, "--config-dir", host);
        Assert.Equal(ExitCodes.Conflict, code);
        Assert.Contains($"{file}: 2 lines the server lacks", err, StringComparison.Ordinal);
        Assert.Contains($"{subagent}: 1 line the server lacks", err, StringComparison.Ordinal);
        Assert.Contains($"sessions push {FixtureSession}", err, StringComparison.Ordinal);
        Assert.Equal(local, await File.ReadAllBytesAsync(file));

        var (forced, output, forcedErr) = await Cli("pull", FixtureSession, "--config-dir", host, "--force", "--format", "json");
        Assert.True(forced == 0, forcedErr);
        var backup = Assert.Single((JsonArray)JsonNode.Parse(output)!["backups"]!)!.GetValue<string>();
        Assert.Equal(local, await File.ReadAllBytesAsync(backup));
        using var client = server.CreateClient(_tenant);
        Assert.Equal(await client.GetTranscriptAsync(FixtureProject, FixtureSession, null, CancellationToken.None), await File.ReadAllBytesAsync(file));
    }

    [Fact]
    public async Task Import_ALineOverTheServersEntryLimit_IsNamed_AndTheLinesBeforeItAreSent()
    {
        var config = await ImportOneAsync();
        var file = Path.Combine(config, "projects", FixtureProject, FixtureSession + ".jsonl");
        var original = await File.ReadAllBytesAsync(file);
        var lines = original.Count(b => b == (byte)'\n');
        var big = Calls.Entry(Guid.NewGuid().ToString(), text: new string('x', Sessions.Cluster.Core.Storage.EntryLimits.DefaultMaxEntryBytes));
        await File.AppendAllTextAsync(file, Calls.Entry("before-big", text: "sent") + "\n" + big + "\n" + Calls.Entry("after-1") + "\n" + Calls.Entry("after-2") + "\n");

        var (code, output, err) = await Cli("import", config);
        Assert.True(code == 0, err);
        Assert.Contains($"{file}:{lines + 2}: {big.Length} bytes, over the server's entry limit of {Sessions.Cluster.Core.Storage.EntryLimits.DefaultMaxEntryBytes}; it and the 2 line(s) after it were not sent", output, StringComparison.Ordinal);
        using var client = server.CreateClient(_tenant);
        var stored = await client.GetTranscriptAsync(FixtureProject, FixtureSession, null, CancellationToken.None);
        var local = await File.ReadAllBytesAsync(file);
        Assert.Equal(local.AsSpan(0, original.Length + Calls.Entry("before-big", text: "sent").Length + 1).ToArray(), stored);
    }

    [Fact]
    public async Task Import_SessionsSideBySide_AgainChangesNothing_SendsOnlyNewLines_AndLeavesADivergedCopyAlone()
    {
        var config = RepoPaths.CopyFixtures();
        var projects = Path.Combine(config, "projects");
        var mains = Directory.GetDirectories(projects).SelectMany(p => Directory.GetFiles(p, "*.jsonl")).ToList();
        var subagents = Directory.GetDirectories(projects).SelectMany(p => Directory.GetDirectories(p)).SelectMany(d => Directory.GetFiles(d, "*.jsonl", SearchOption.AllDirectories)).ToList();
        Assert.NotEmpty(subagents);

        var (code, output, err) = await Cli("import", config, "--parallel", "4", "--format", "json");
        Assert.True(code == 0, err);
        var first = JsonNode.Parse(output)!;
        Assert.Equal(mains.Count, first["sessions"]!.GetValue<int>());
        Assert.Equal(subagents.Count, first["subagents"]!.GetValue<int>());
        Assert.Equal(0, first["upToDate"]!.GetValue<int>());
        using var client = server.CreateClient(_tenant);
        foreach (var file in mains)
        {
            var stored = await client.GetTranscriptAsync(Path.GetFileName(Path.GetDirectoryName(file))!, Path.GetFileNameWithoutExtension(file), null, CancellationToken.None);
            Assert.Equal(await File.ReadAllBytesAsync(file), stored);
        }

        // Again: every transcript is found on the server (the fenced first send is refused) and compared, nothing sent.
        var (again, againOut, againErr) = await Cli("import", config, "--format", "json");
        Assert.True(again == 0, againErr);
        Assert.Equal(0, JsonNode.Parse(againOut)!["entriesAppended"]!.GetValue<int>());
        Assert.Equal(mains.Count + subagents.Count, JsonNode.Parse(againOut)!["upToDate"]!.GetValue<int>());

        // One file grew on this host; another session's server copy gained a line this host never had.
        var grown = mains[0];
        await File.AppendAllTextAsync(grown, Calls.Entry(Guid.NewGuid().ToString(), text: "written after the import") + "\n");
        var diverged = mains[1];
        var (divergedProject, divergedId) = (Path.GetFileName(Path.GetDirectoryName(diverged))!, Path.GetFileNameWithoutExtension(diverged));
        await client.AppendLinesAsync(divergedProject, divergedId, null, [Calls.Entry(Guid.NewGuid().ToString(), text: "written elsewhere")], null, CancellationToken.None);
        var serverCopy = await client.GetTranscriptAsync(divergedProject, divergedId, null, CancellationToken.None);

        var (third, thirdOut, _) = await Cli("import", config, "--format", "json");
        Assert.Equal(ExitCodes.Conflict, third);
        var summary = JsonNode.Parse(thirdOut)!;
        Assert.Equal(1, summary["entriesAppended"]!.GetValue<int>());
        Assert.Contains(summary["diverged"]!.AsArray(), d => d!.GetValue<string>().StartsWith(diverged + ":", StringComparison.Ordinal));
        Assert.Equal(await File.ReadAllBytesAsync(grown), await client.GetTranscriptAsync(Path.GetFileName(Path.GetDirectoryName(grown))!, Path.GetFileNameWithoutExtension(grown), null, CancellationToken.None));
        Assert.Equal(serverCopy, await client.GetTranscriptAsync(divergedProject, divergedId, null, CancellationToken.None));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("many")]
    public async Task Import_ParallelOutOfRange_IsRefusedWithAMessage(string parallel)
    {
        var (code, _, err) = await Cli("import", RepoPaths.ClaudeFixtures, "--parallel", parallel);
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains("--parallel", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_KeepsEachFilesLastActivity_LatestFollowsIt_AndPullSetsIt()
    {
        var config = RepoPaths.TempDir("mtimes");
        var source = Path.Combine(RepoPaths.ClaudeFixtures, "projects", "-home-marco-projects-spotter");
        var target = Path.Combine(config, "projects", "-home-marco-projects-spotter");
        Directory.CreateDirectory(target);
        var ids = Directory.GetFiles(source, "*.jsonl").Select(Path.GetFileNameWithoutExtension).Order().ToList();
        var times = new Dictionary<string, DateTime>();
        for (var i = 0; i < ids.Count; i++)
        {
            var file = Path.Combine(target, ids[i] + ".jsonl");
            File.Copy(Path.Combine(source, ids[i] + ".jsonl"), file);
            // The first file is the most recent; imported last, it must still be the one `latest` picks.
            times[ids[i]!] = new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc).AddDays(-i).AddMilliseconds(123);
            File.SetLastWriteTimeUtc(file, times[ids[i]!]);
        }

        Assert.Equal(0, (await Cli("import", config)).Code);
        using var client = server.CreateClient(_tenant);
        foreach (var (id, time) in times)
        {
            var info = await client.GetInfoAsync("-home-marco-projects-spotter", id, CancellationToken.None);
            Assert.Equal(new DateTimeOffset(time).ToUnixTimeMilliseconds(), info.LastModified);
        }

        var latest = await client.GetLatestAsync("-home-marco-projects-spotter", CancellationToken.None);
        Assert.Equal(ids[0], latest.SessionId);

        var host = RepoPaths.TempDir("host-e");
        Assert.Equal(0, (await Cli("pull", ids[1]!, "--config-dir", host)).Code);
        Assert.Equal(times[ids[1]!], File.GetLastWriteTimeUtc(Path.Combine(host, "projects", "-home-marco-projects-spotter", ids[1] + ".jsonl")));
    }

    [Fact]
    public async Task Push_WhenTheServerCopyDiverged_RefusesWithConflictExitCode()
    {
        var (host, file) = await ImportAndPullAsync("host-c");
        var text = await File.ReadAllTextAsync(file);
        await File.WriteAllTextAsync(file, text.Replace("\"type\":\"user\"", "\"type\": \"user\"", StringComparison.Ordinal));
        var (code, _, _) = await Cli("push", FixtureSession, "--config-dir", host);
        Assert.Equal(ExitCodes.Conflict, code);
    }

    [Fact]
    public async Task Retention_SetPreviewSweepAuditAndHold_WorkFromTheCli()
    {
        await ImportOneAsync();
        Assert.Equal(0, (await Cli("retention", "set", "7")).Code);
        var (_, shown, _) = await Cli("retention", "show");
        Assert.Equal(7, JsonNode.Parse(shown)!["cleanupPeriodDays"]!.GetValue<int>());
        Assert.Equal(ExitCodes.InvalidInput, (await Cli("retention", "set", "0")).Code);

        // The fixture session was imported just now: nothing is due, and a hold can be placed and released.
        var (code, preview, _) = await Cli("retention", "preview", "--format", "json");
        Assert.Equal(0, code);
        Assert.Empty((JsonArray)JsonNode.Parse(preview)!["sessions"]!);
        Assert.Equal(0, (await Cli("hold", FixtureSession, "--reason", "audit")).Code);
        Assert.Equal(0, (await Cli("hold", FixtureSession, "--release")).Code);
        Assert.Equal(ExitCodes.NotFound, (await Cli("hold", FixtureSession, "--release")).Code);
        var (_, swept, _) = await Cli("retention", "sweep");
        Assert.Equal(0, JsonNode.Parse(swept)!["expired"]!.GetValue<int>());
        var (_, audit, _) = await Cli("retention", "audit");
        Assert.Empty((JsonArray)JsonNode.Parse(audit)!);
    }

    [Fact]
    public async Task Trash_AnExpiredSessionIsListed_AndRestoredFromTheCli()
    {
        await ImportOneAsync(DateTime.UtcNow.AddDays(-40));
        var (_, swept, _) = await Cli("retention", "sweep");
        Assert.Equal(1, JsonNode.Parse(swept)!["expired"]!.GetValue<int>());
        Assert.Equal(ExitCodes.NotFound, (await Cli("show", FixtureSession, "--project", FixtureProject)).Code);

        var (code, listed, err) = await Cli("trash", "list", "--format", "json");
        Assert.True(code == 0, err);
        var entry = Assert.Single(((JsonArray)JsonNode.Parse(listed)!["sessions"]!).OfType<JsonObject>());
        Assert.Equal(FixtureSession, entry["sessionId"]!.GetValue<string>());
        Assert.Equal(entry["trashedAt"]!.GetValue<long>() + (7 * 86_400_000L), entry["purgeAfter"]!.GetValue<long>());
        var (_, table, _) = await Cli("trash", "list");
        Assert.Contains($"{FixtureProject}/{FixtureSession}", table, StringComparison.Ordinal);

        Assert.Equal(ExitCodes.NotFound, (await Cli("trash", "restore", "not-in-trash")).Code);
        (code, _, err) = await Cli("trash", "restore", FixtureSession);
        Assert.True(code == 0, err);
        Assert.Equal(0, (await Cli("show", FixtureSession, "--project", FixtureProject)).Code);
        Assert.Empty((JsonArray)JsonNode.Parse((await Cli("trash", "list", "--format", "json")).Out)!["sessions"]!);
        var reasons = ((JsonArray)JsonNode.Parse((await Cli("retention", "audit")).Out)!).Select(a => a!["reason"]!.GetValue<string>()).ToList();
        Assert.Equal(["restore", "retention"], reasons);
    }

    [Theory]
    [InlineData(ExitCodes.NotFound, "show", "00000000-0000-0000-0000-000000000000")]
    [InlineData(ExitCodes.NotFound, "import", "/nonexistent/claude")]
    [InlineData(ExitCodes.InvalidInput, "list")]
    [InlineData(ExitCodes.InvalidInput, "list", "--project", "p", "--format", "xml")]
    [InlineData(ExitCodes.InvalidInput, "tag", "some-id")]
    public async Task Errors_GiveAMessageAndANamedExitCode(int expected, params string[] args)
    {
        var (code, _, err) = await Cli(args);
        Assert.Equal(expected, code);
        Assert.False(string.IsNullOrWhiteSpace(err));
    }

    [Fact]
    public async Task AnyVerb_ServerUnreachable_ExitsUnavailableWithAHint()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await SessionsCli.RunAsync(["list", "--project", "p", "--url", "http://127.0.0.1:9"], output, error);
        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Contains("sessions serve", error.ToString(), StringComparison.Ordinal);
    }

    // The fixture session imported, then pulled into a fresh Claude Code folder: (folder, transcript path).
    private async Task<(string Host, string File)> ImportAndPullAsync(string name)
    {
        await ImportOneAsync();
        var host = RepoPaths.TempDir(name);
        Assert.Equal(0, (await Cli("pull", FixtureSession, "--config-dir", host)).Code);
        return (host, Path.Combine(host, "projects", FixtureProject, FixtureSession + ".jsonl"));
    }

    private async Task<string> ImportOneAsync(DateTime? lastActivity = null)
    {
        var config = RepoPaths.TempDir("one");
        var source = Path.Combine(RepoPaths.ClaudeFixtures, "projects", FixtureProject);
        Directory.CreateDirectory(Path.Combine(config, "projects", FixtureProject));
        var file = Path.Combine(config, "projects", FixtureProject, FixtureSession + ".jsonl");
        File.Copy(Path.Combine(source, FixtureSession + ".jsonl"), file);
        File.SetLastWriteTimeUtc(file, lastActivity ?? DateTime.UtcNow); // by default a session active just now (import keeps the file's mtime)
        var (code, _, err) = await Cli("import", config);
        Assert.True(code == 0, err);
        return config;
    }
}
