using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Transcript shapes no public fixture covers (SOURCES.md): custom and AI titles, last-prompt, tags set and cleared,
/// summary-only and sidechain-only files, command wrappers, bash input, pasted content, long and image-only
/// prompts, metadata beyond the 64 KiB head window. Each is written as a Claude Code folder, imported, and our list
/// compared with the real SDK's listSessions on the same files.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SyntheticParityTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Project = "-tmp-synthetic";
    private static readonly string[] Fields = ["summary", "firstPrompt", "customTitle", "tag", "gitBranch", "cwd", "createdAt", "fileSize"];

    private static string U(int i) => $"00000000-0000-4000-8000-{i:D12}";

    private static JsonObject User(int i, object content, int? parent = null, string? extra = null)
    {
        var e = new JsonObject
        {
            ["parentUuid"] = parent is null ? null : U(parent.Value),
            ["isSidechain"] = false,
            ["type"] = "user",
            ["message"] = new JsonObject { ["role"] = "user", ["content"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(content)) },
            ["uuid"] = U(i),
            ["timestamp"] = $"2026-01-0{1 + (i % 9)}T10:00:{i % 60:D2}.000Z",
            ["cwd"] = "/tmp/synthetic",
            ["sessionId"] = "S",
            ["gitBranch"] = "main",
        };
        if (extra is not null)
        {
            foreach (var (k, v) in JsonNode.Parse(extra)!.AsObject())
            {
                e[k] = v?.DeepClone();
            }
        }

        return e;
    }

    private static JsonObject Assistant(int i, int parent, string text, string branch = "main") => new()
    {
        ["parentUuid"] = U(parent),
        ["isSidechain"] = false,
        ["type"] = "assistant",
        ["message"] = new JsonObject { ["role"] = "assistant", ["id"] = $"msg_{i}", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text }) },
        ["uuid"] = U(i),
        ["timestamp"] = "2026-01-02T10:00:00.000Z",
        ["cwd"] = "/tmp/synthetic",
        ["sessionId"] = "S",
        ["gitBranch"] = branch,
    };

    public static IEnumerable<(string Name, List<JsonObject> Entries)> Cases()
    {
        yield return ("custom-title", [User(1, "plain prompt"), Assistant(2, 1, "ok"), Obj("""{"type":"custom-title","customTitle":"My title","sessionId":"S"}""")]);
        yield return ("ai-title", [User(1, "prompt for ai"), Obj("""{"type":"ai-title","aiTitle":"AI made this","sessionId":"S"}""")]);
        yield return ("custom-beats-ai", [User(1, "p"), Obj("""{"type":"custom-title","customTitle":"Mine","sessionId":"S"}"""), Obj("""{"type":"ai-title","aiTitle":"Theirs","sessionId":"S"}""")]);
        yield return ("last-prompt", [User(1, "first one"), Assistant(2, 1, "a"), Obj("""{"type":"last-prompt","lastPrompt":"the latest prompt","sessionId":"S"}""")]);
        yield return ("tag-set", [User(1, "tagged"), Obj("""{"type":"tag","tag":"alpha","sessionId":"S"}"""), Obj("""{"type":"tag","tag":"beta","sessionId":"S"}""")]);
        yield return ("tag-cleared", [User(1, "untagged"), Obj("""{"type":"tag","tag":"alpha","sessionId":"S"}"""), Obj("""{"type":"tag","tag":"","sessionId":"S"}""")]);
        yield return ("summary-only", [Obj("""{"type":"summary","summary":"Only a summary","leafUuid":"x"}""")]);
        yield return ("sidechain-only", [User(1, "side", extra: """{"isSidechain":true}""")]);
        yield return ("command-wrapper", [User(1, "<command-name>/compact</command-name>\n<command-message>compact</command-message>"), User(2, "real prompt after command", 1)]);
        yield return ("command-only", [User(1, "<command-name>/init</command-name>")]);
        yield return ("bash-input", [User(1, "<bash-input>ls -la</bash-input>")]);
        yield return ("pasted", [User(1, "look:\n\n<pasted_content id=\"ab12\">\npasted body\n</pasted_content id=\"ab12\">\n\nthanks")]);
        yield return ("long-prompt", [User(1, new string('é', 150) + " " + new string('z', 120))]);
        yield return ("surrogate-cut", [User(1, new string('a', 199) + "😀 tail")]);
        yield return ("meta-then-real", [User(1, "caveat", extra: """{"isMeta":true}"""), User(2, "<local-command-stdout>x</local-command-stdout>", 1), User(3, "the real one", 2)]);
        yield return ("interrupted", [User(1, "[Request interrupted by user]"), User(2, "after interrupt", 1)]);
        yield return ("image-only", [User(1, new object[] { new { type = "image", source = new { type = "base64", media_type = "image/png", data = "iVBORw0KGgo=" } } })]);
        yield return ("tool-result-first", [User(1, new object[] { new { type = "tool_result", tool_use_id = "t", content = "r" } }), User(2, "after tool", 1)]);
        yield return ("branch-changes", [User(1, "p"), Assistant(2, 1, "a", branch: "feature/x")]);
        yield return ("relocated", [User(1, "moved"), Obj("""{"type":"relocated","relocatedCwd":"/new/place","sessionId":"S"}""")]);
        var big = new List<JsonObject> { User(1, "before the window") };
        for (var i = 2; i < 60; i++)
        {
            big.Add(Assistant(i, i - 1, new string('w', 2000)));
        }

        big.Add(Obj("""{"type":"custom-title","customTitle":"Title beyond 64 KiB","sessionId":"S"}"""));
        big.Add(Obj("""{"type":"tag","tag":"late","sessionId":"S"}"""));
        yield return ("beyond-head-window", big);
    }

    [Fact]
    public async Task List_DocumentedShapesWithoutPublicFixtures_EqualsSdkListSessions()
    {
        var config = RepoPaths.TempDir("synthetic");
        var dir = Path.Combine(config, "projects", Project);
        Directory.CreateDirectory(dir);
        var names = new Dictionary<string, string>();
        var n = 0;
        foreach (var (name, entries) in Cases())
        {
            var id = $"11111111-1111-4111-8111-{++n:D12}";
            names[id] = name;
            var lines = entries.Select(e =>
            {
                if (e["sessionId"] is not null)
                {
                    e["sessionId"] = id;
                }

                return e.ToJsonString();
            });
            await File.WriteAllTextAsync(Path.Combine(dir, id + ".jsonl"), string.Join('\n', lines) + "\n");
        }

        var tenant = "synthetic-" + Guid.NewGuid().ToString("N")[..8];
        var (code, _, err) = await server.CliAsync("import", config, "--tenant", tenant);
        Assert.True(code == 0, err);
        var sdk = (await SdkOracle.ListSessionsAsync(config)).OfType<JsonObject>().ToDictionary(s => s["sessionId"]!.GetValue<string>());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/projects/{Project}/sessions?limit=1000");
        request.Headers.Add("X-Sessions-Tenant", tenant);
        using var response = await server.Http.SendAsync(request);
        var ours = ((JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["sessions"]!).OfType<JsonObject>().ToDictionary(s => s["sessionId"]!.GetValue<string>());

        Assert.True(sdk.Keys.Order().SequenceEqual(ours.Keys.Order()),
            $"listed sessions differ: SDK lists [{string.Join(", ", sdk.Keys.Select(k => names[k]))}], we list [{string.Join(", ", ours.Keys.Select(k => names[k]))}]");
        Assert.True(sdk.Count >= Cases().Count() - 3, "the SDK should list nearly every case");
        foreach (var (id, expected) in sdk)
        {
            foreach (var field in Fields)
            {
                Assert.True(JsonNode.DeepEquals(expected[field], ours[id][field]),
                    $"{names[id]}: {field} is {ours[id][field]?.ToJsonString() ?? "absent"}, the SDK says {expected[field]?.ToJsonString() ?? "absent"}");
            }
        }
    }

    [Fact]
    public async Task RenameTagAndFork_OfHostileText_WriteTheSdksBytes()
    {
        // Quotes, <>&'+, backticks, accents, CJK, emoji, a lone surrogate, U+2028/2029, control characters, numbers the
        // SDK reformats: written by hand as a Claude Code file, then renamed, tagged and forked by the SDK and by us.
        const string id = "22222222-2222-4222-8222-000000000001";
        const string text = "say \\\"hi\\\" <b>&amp;'+ `x` caf\\u00e9 漢字 😀 \\ud800 \\u2028\\u2029 \\u0001\\t \\/";
        var lines = new[]
        {
            """{"type":"user","uuid":"U1","parentUuid":null,"sessionId":"ID","timestamp":"2026-01-01T10:00:00.000Z","cwd":"/tmp/synthetic","n":1.50,"big":1e21,"message":{"role":"user","content":"TEXT"}}""",
            """{"type":"assistant","uuid":"U2","parentUuid":"U1","sessionId":"ID","timestamp":"2026-01-01T10:00:01.000Z","cwd":"/tmp/synthetic","message":{"role":"assistant","id":"m1","content":[{"type":"text","text":"TEXT"}]}}""",
            // The fork opens with the recorded API request routes (SDK 0.3.337), unknown kinds as "other", each once.
            """{"type":"api-request-route","provider":"bedrock","credential":"weird","sessionId":"ID"}""",
            """{"type":"api-request-route","provider":"bedrock","credential":"other","sessionId":"ID"}""",
            """{"type":"api-request-route","provider":"anthropic","credential":"key"}""",
        };
        var config = RepoPaths.TempDir("hostile-bytes");
        var dir = Path.Combine(config, "projects", Project);
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, id + ".jsonl");
        await File.WriteAllTextAsync(file, string.Join('\n', lines.Select(l => l.Replace("U1", U(1), StringComparison.Ordinal).Replace("U2", U(2), StringComparison.Ordinal)
            .Replace("ID", id, StringComparison.Ordinal).Replace("TEXT", text, StringComparison.Ordinal))) + "\n");
        var original = await File.ReadAllBytesAsync(file);
        var tenant = "bytes-" + Guid.NewGuid().ToString("N")[..8];
        var (code, _, err) = await server.CliAsync("import", config, "--tenant", tenant);
        Assert.True(code == 0, err);

        const string title = "t \"q\" <b>&'+ `x` é 漢 😀 \u2028 end";
        const string tag = "tag-é漢😀";
        var sdk = await SdkOracle.WriteAsync(config, id, title, tag);

        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Add("X-Sessions-Tenant", tenant);
        var session = $"v1/projects/{Project}/sessions/{id}";
        Assert.True((await http.PostAsync($"{session}/rename", Calls.Json(new JsonObject { ["title"] = title }.ToJsonString()))).IsSuccessStatusCode);
        Assert.True((await http.PostAsync($"{session}/tag", Calls.Json(new JsonObject { ["tag"] = tag }.ToJsonString()))).IsSuccessStatusCode);
        using var forked = await http.PostAsync($"{session}/fork", Calls.Json(new JsonObject { ["title"] = title }.ToJsonString()));
        var forkId = JsonNode.Parse(await forked.Content.ReadAsStringAsync())!["sessionId"]!.GetValue<string>();

        var ours = await http.GetByteArrayAsync($"{session}/transcript");
        Assert.Equal(original, ours[..original.Length]);
        Assert.Equal(Masked(sdk["appended"]!.GetValue<string>()), Masked(System.Text.Encoding.UTF8.GetString(ours[original.Length..])));
        var ourFork = System.Text.Encoding.UTF8.GetString(await http.GetByteArrayAsync($"v1/projects/{Project}/sessions/{forkId}/transcript"));
        Assert.Equal(Masked(sdk["forkText"]!.GetValue<string>()), Masked(ourFork));
    }

    [Fact]
    public async Task Messages_ToolResultMetadataAndLocalCommands_EqualSdkGetSessionMessages()
    {
        // SessionMessage fields of SDK 0.3.337 no public fixture has: why a tool call did not run (who refused it, the
        // remedy, a refused file edit, invalid or changed input), the plan file an answer names, a result that ends
        // waiting, a local command's caveat, record and output, a task notification's failure and turn limit.
        const string id = "33333333-3333-4333-8333-000000000001";
        JsonObject ToolUse(int i, int parent, string toolId) => Obj($$$"""{"type":"assistant","uuid":"{{{U(i)}}}","parentUuid":"{{{U(parent)}}}","sessionId":"S","timestamp":"2026-01-02T10:00:{{{i:D2}}}.000Z","message":{"role":"assistant","id":"msg_{{{i}}}","content":[{"type":"tool_use","id":"{{{toolId}}}","name":"Bash","input":{"command":"ls"}}]}}""");
        JsonObject Result(int i, int parent, string toolId, string fields) => Obj($$"""{"type":"user","uuid":"{{U(i)}}","parentUuid":"{{U(parent)}}","sessionId":"S","timestamp":"2026-01-02T10:00:{{i:D2}}.000Z","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"{{toolId}}","content":"no","is_error":true}]},{{fields}}}""");
        var entries = new List<JsonObject>
        {
            User(1, "run tools"),
            ToolUse(2, 1, "t1"),
            Result(3, 2, "t1", """ "toolDenialKind":"permission-rule","permissionDecision":{"decision":"reject","reasonType":"rule"},"toolResultRemedy":{"kind":"allow_rule","tool":"Bash","extra":1} """),
            ToolUse(4, 3, "t2"),
            Result(5, 4, "t2", """ "toolResultFileRefusal":{"reason":"text_repeated","matches":3.0},"toolInputInvalid":true,"executedInput":{"sources":["mod","permission-answer"]} """),
            ToolUse(6, 5, "t3"),
            Result(7, 6, "t3", """ "toolDenialKind":"automode-blocked","toolResultRemedy":{"kind":"advice_to_claude","long_sleep":true},"toolResultFileRefusal":{"reason":"file_not_found","suggestion":"x.txt"} """),
            ToolUse(8, 7, "t4"),
            Result(9, 8, "t4", """ "permissionDecision":{"decision":"reject","source":"hook"},"toolResultRemedy":{"kind":"removal_refused","removal_risk":"top_folder"},"toolResultRewritten":true """),
            ToolUse(10, 9, "t5"),
            Result(11, 10, "t5", """ "permissionDecision":{"decision":"reject","reasonType":"mode","reasonCode":"mode:dontAsk"},"toolResultRemedy":{"kind":"check_failed","check_failure":"timed_out"},"toolResultFileRefusal":{"reason":"too_large","bytes":10},"toolCallEnded":"not_started" """),
            ToolUse(12, 11, "t6"),
            Result(13, 12, "t6", """ "permissionDecision":{"decision":"reject","reasonType":"subcommandResults","ruleSource":"x","notByDenyRule":false},"executedInput":{"sources":["mod","elsewhere"]} """),
            Obj($$$"""{"type":"assistant","uuid":"{{{U(14)}}}","parentUuid":"{{{U(13)}}}","sessionId":"S","namesPlanFile":"in_project","message":{"role":"assistant","id":"msg_14","content":[{"type":"text","text":"plan"}]}}"""),
            User(15, "<local-command-caveat>Caveat: generated by a local command</local-command-caveat>", 14, """{"isMeta":true}"""),
            User(16, "<command-name>/mcp</command-name>\n<command-message>mcp</command-message>", 15, """{"noCommandRan":true}"""),
            User(17, "<local-command-stdout>done</local-command-stdout>", 16),
            User(18, "a prompt", 17, """{"resultEndsInWaitingNote":true,"origin":{"kind":"task-notification","subkind":null,"runId":"r-1","failure":{"message":"m","details":"d"},"turnLimit":{"turns":3,"note":"n"},"noReportNote":"none","secret":"dropped"}}"""),
            Assistant(19, 18, "the end"),
        };
        var config = RepoPaths.TempDir("message-fields");
        var dir = Path.Combine(config, "projects", Project);
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, id + ".jsonl"), string.Join('\n', entries.Select(e =>
        {
            e["sessionId"] = id;
            return e.ToJsonString();
        })) + "\n");
        var tenant = "fields-" + Guid.NewGuid().ToString("N")[..8];
        var (code, _, err) = await server.CliAsync("import", config, "--tenant", tenant);
        Assert.True(code == 0, err);
        var sdk = (JsonArray)(await SdkOracle.DumpAsync(config))["details"]![id]!["messages"]!;

        using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/projects/{Project}/sessions/{id}/messages");
        request.Headers.Add("X-Sessions-Tenant", tenant);
        using var response = await server.Http.SendAsync(request);
        var ours = (JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(sdk.Count >= 18, $"the SDK shows {sdk.Count} messages");
        Assert.Contains(sdk, m => m!["tool_result_meta"]?[0]?["remedy"] is not null);
        Assert.Contains(sdk, m => m!["isCompletedLocalCommand"] is not null);
        Assert.Equal(sdk.Count, ours.Count);
        for (var i = 0; i < sdk.Count; i++)
        {
            Assert.True(JsonNode.DeepEquals(sdk[i], ours[i]), $"message {i}: the SDK says {sdk[i]!.ToJsonString()}, we say {ours[i]!.ToJsonString()}");
        }
    }

    [Fact]
    public async Task TheSdkTheAnswersEqual_IsThePinnedVersion_Everywhere()
    {
        await NodeTools.EnsureInstalledAsync(RepoPaths.OracleDir, "node_modules/@anthropic-ai/claude-agent-sdk/package.json");
        var installed = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.OracleDir, "node_modules", "@anthropic-ai", "claude-agent-sdk", "package.json")))!;
        Assert.Equal(SdkOracle.PinnedVersion, installed["version"]!.GetValue<string>());
        foreach (var package in new[] { RepoPaths.OracleDir, Path.Combine(RepoPaths.Root, "src", "claude-agent-sdk-store"), Path.Combine(RepoPaths.Root, "benchmarks", "peers") })
        {
            var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(package, "package.json")))!;
            var pin = json["devDependencies"]?["@anthropic-ai/claude-agent-sdk"] ?? json["dependencies"]!["@anthropic-ai/claude-agent-sdk"];
            Assert.True(pin!.GetValue<string>() == SdkOracle.PinnedVersion, $"{package}/package.json pins {pin}, the oracle {SdkOracle.PinnedVersion}");
        }
    }

    // Fresh uuids (named in order of appearance) and fresh timestamps differ by design; every other byte must match.
    private static string Masked(string text)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        text = System.Text.RegularExpressions.Regex.Replace(text, "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            m => names.TryGetValue(m.Value, out var name) ? name : names[m.Value] = $"<uuid{names.Count}>");
        return System.Text.RegularExpressions.Regex.Replace(text, @"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "<time>");
    }

    private static JsonObject Obj(string json) => JsonNode.Parse(json)!.AsObject();
}
