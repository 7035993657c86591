using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Every real transcript in ../shared/fixtures/claude-code is imported through the CLI and the API, and every answer
/// is compared with the real Claude Agent SDK's on the same files: list and info, messages, subagents, forks at
/// several messages, and pull reproducing the files byte for byte.
/// </summary>
public abstract class FixtureParityTests<TServer>(FixtureParityTests<TServer>.Imported imported)
    where TServer : ITestServer, new()
{
    private static readonly string[] InfoFields = ["summary", "firstPrompt", "customTitle", "tag", "gitBranch", "cwd", "createdAt", "fileSize"];

    [Fact]
    public void Import_AllFixtures_ReportsEverySessionAndSubagent()
    {
        Assert.Equal(0, imported.ImportExitCode);
        var files = Directory.EnumerateFiles(Path.Combine(imported.ConfigDir, "projects"), "*.jsonl", SearchOption.AllDirectories).Count();
        var summary = JsonNode.Parse(imported.ImportOutput)!;
        Assert.Equal(files, summary["sessions"]!.GetValue<int>() + summary["subagents"]!.GetValue<int>());
        Assert.Equal(0, summary["rejectedLines"]!.GetValue<int>());
    }

    [Fact]
    public async Task List_EveryProject_EqualsSdkListSessions()
    {
        var sdk = (JsonArray)imported.Sdk["sessions"]!;
        var ours = new List<JsonObject>();
        foreach (var projectKey in imported.ProjectKeys)
        {
            using var response = await imported.Server.Http.GetAsync($"v1/projects/{projectKey}/sessions?limit=1000");
            response.EnsureSuccessStatusCode();
            var page = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            ours.AddRange(((JsonArray)page["sessions"]!).OfType<JsonObject>());
        }

        Assert.Equal(sdk.Select(s => s!["sessionId"]!.GetValue<string>()).Order(), ours.Select(s => s["sessionId"]!.GetValue<string>()).Order());
        foreach (var expected in sdk.OfType<JsonObject>())
        {
            var actual = ours.Single(o => o["sessionId"]!.GetValue<string>() == expected["sessionId"]!.GetValue<string>());
            AssertFieldsEqual(expected, actual, expected["sessionId"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Info_EverySession_EqualsSdkGetSessionInfo()
    {
        foreach (var (sessionId, detail) in Details)
        {
            using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}");
            response.EnsureSuccessStatusCode();
            AssertFieldsEqual((JsonObject)detail["info"]!, (JsonObject)JsonNode.Parse(await response.Content.ReadAsStringAsync())!, sessionId);
        }
    }

    [Fact]
    public async Task Messages_EverySession_EqualSdkGetSessionMessages()
    {
        foreach (var (sessionId, detail) in Details)
        {
            using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}/messages");
            response.EnsureSuccessStatusCode();
            var ours = (JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            var expected = (JsonArray)detail["messages"]!;
            Assert.Equal(expected.Select(m => m!["uuid"]!.GetValue<string>()), ours.Select(m => m!["uuid"]!.GetValue<string>()));
            for (var i = 0; i < expected.Count; i++)
            {
                Assert.True(JsonNode.DeepEquals(expected[i], ours[i]), $"{sessionId}: message {i} differs: SDK {Trim(expected[i]!)}, ours {Trim(ours[i]!)}");
            }
        }
    }

    [Fact]
    public async Task Messages_IncludingSystemMessages_EqualSdkUuidsInOrder()
    {
        foreach (var (sessionId, detail) in Details)
        {
            using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}/messages?includeSystemMessages=true");
            response.EnsureSuccessStatusCode();
            var ours = (JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(((JsonArray)detail["withSystemUuids"]!).Select(u => u!.GetValue<string>()), ours.Select(m => m!["uuid"]!.GetValue<string>()));
        }
    }

    [Fact]
    public async Task Messages_WithLimitAndOffset_AreASliceOfTheChain()
    {
        var (sessionId, detail) = Details.First(d => ((JsonArray)d.Detail["messageUuids"]!).Count > 10);
        var all = ((JsonArray)detail["messageUuids"]!).Select(u => u!.GetValue<string>()).ToList();
        using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}/messages?offset=3&limit=5");
        response.EnsureSuccessStatusCode();
        var page = (JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(all.Skip(3).Take(5), page.Select(m => m!["uuid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Subagents_EverySession_EqualSdkListSubagents()
    {
        foreach (var (sessionId, detail) in Details)
        {
            using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}/subagents");
            response.EnsureSuccessStatusCode();
            var ours = ((JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!).Select(x => x!.GetValue<string>()).Order(StringComparer.Ordinal);
            Assert.Equal(((JsonArray)detail["subagents"]!).Select(x => x!.GetValue<string>()).Order(StringComparer.Ordinal), ours);
        }
    }

    [Fact]
    public async Task SubagentMessages_EverySubagent_EqualSdkGetSubagentMessages()
    {
        var compared = 0;
        foreach (var (sessionId, detail) in Details)
        {
            foreach (var (agentId, expected) in (JsonObject)detail["subagentMessages"]!)
            {
                using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}/subagents/{agentId}/messages");
                response.EnsureSuccessStatusCode();
                var ours = (JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
                var sdk = (JsonArray)expected!;
                Assert.Equal(sdk.Select(m => m!["uuid"]!.GetValue<string>()), ours.Select(m => m!["uuid"]!.GetValue<string>()));
                for (var i = 0; i < sdk.Count; i++)
                {
                    Assert.True(JsonNode.DeepEquals(sdk[i], ours[i]), $"{sessionId}/{agentId}: message {i} differs: SDK {Trim(sdk[i]!)}, ours {Trim(ours[i]!)}");
                }

                compared++;
            }
        }

        Assert.Equal(4, compared);
    }

    [Fact]
    public async Task Fork_EverySessionAtSeveralMessages_EqualsSdkForkSessionUpToFreshUuids()
    {
        var compared = 0;
        foreach (var (sessionId, detail) in Details)
        {
            foreach (var (at, result) in (JsonObject)detail["forks"]!)
            {
                var projectKey = imported.ProjectOf(sessionId);
                var body = at == "*" ? "{}" : $"{{\"upToMessageId\":\"{at}\"}}";
                using var response = await imported.Server.Http.PostAsync($"v1/projects/{projectKey}/sessions/{sessionId}/fork", new StringContent(body));
                if (result!["error"] is not null)
                {
                    Assert.False(response.IsSuccessStatusCode, $"{sessionId} at {at}: the SDK failed ({result["error"]}) but we forked");
                    continue;
                }

                Assert.True(response.IsSuccessStatusCode, $"{sessionId} at {at}: {await response.Content.ReadAsStringAsync()}");
                var forkId = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["sessionId"]!.GetValue<string>();
                var ours = await LoadAsync(projectKey, forkId);
                var expected = ((JsonArray)result["entries"]!).Select(e => (JsonObject)e!.DeepClone()).ToList();
                var a = Normalize(expected, result["forkId"]!.GetValue<string>());
                var b = Normalize(ours, forkId);
                Assert.True(a.Count == b.Count, $"{sessionId} at {at}: SDK fork has {a.Count} entries, ours {b.Count}");
                for (var i = 0; i < a.Count; i++)
                {
                    Assert.True(JsonNode.DeepEquals(a[i], b[i]), $"{sessionId} at {at}: entry {i} differs\nSDK:  {Trim(a[i])}\nours: {Trim(b[i])}");
                }

                // Written as JSON.stringify writes (fresh uuids and times have the same lengths): the same size as the SDK's file.
                var info = JsonNode.Parse(await imported.Server.Http.GetStringAsync($"v1/projects/{projectKey}/sessions/{forkId}"))!;
                Assert.True(result["bytes"]!.GetValue<long>() == info["fileSize"]!.GetValue<long>(), $"{sessionId} at {at}: the SDK's fork is {result["bytes"]} bytes, ours {info["fileSize"]}");

                compared++;
            }
        }

        Assert.True(compared >= 40, $"only {compared} forks were compared");
    }

    [Fact]
    public async Task Pull_EverySession_ReproducesFixtureFilesByteForByte_AndSdkListsTheSame()
    {
        var target = RepoPaths.TempDir("pull");
        foreach (var (sessionId, _) in Details)
        {
            var (code, _, err) = await imported.Server.CliAsync("pull", sessionId, "--config-dir", target);
            Assert.True(code == 0, err);
        }

        var sourceProjects = Path.Combine(RepoPaths.ClaudeFixtures, "projects");
        foreach (var file in Directory.EnumerateFiles(sourceProjects, "*.jsonl", SearchOption.AllDirectories))
        {
            var pulled = Path.Combine(target, "projects", Path.GetRelativePath(sourceProjects, file));
            Assert.True(File.Exists(pulled), $"{pulled} was not written");
            Assert.True(File.ReadAllBytes(file).AsSpan().SequenceEqual(File.ReadAllBytes(pulled)), $"{pulled} differs from {file}");
        }

        var onFixtures = await SdkOracle.ListSessionsAsync(RepoPaths.ClaudeFixtures);
        var onPulled = await SdkOracle.ListSessionsAsync(target);
        static List<JsonNode> WithoutMtime(JsonArray list) => list.Select(s =>
        {
            var copy = (JsonObject)s!.DeepClone();
            copy.Remove("lastModified");
            return (JsonNode)copy;
        }).OrderBy(s => s["sessionId"]!.GetValue<string>(), StringComparer.Ordinal).ToList();
        Assert.Equal(WithoutMtime(onFixtures).Select(n => n.ToJsonString()), WithoutMtime(onPulled).Select(n => n.ToJsonString()));
    }

    [Fact]
    public async Task Import_RunTwice_AppendsNothingAndLeavesTranscriptsUnchanged()
    {
        var before = await SnapshotAsync();
        var (code, output, err) = await imported.Server.CliAsync("import", imported.ConfigDir, "--format", "json");
        Assert.True(code == 0, err);
        Assert.Equal(0, JsonNode.Parse(output)!["entriesAppended"]!.GetValue<int>());
        Assert.Equal(before, await SnapshotAsync());
    }

    private IEnumerable<(string SessionId, JsonObject Detail)> Details =>
        ((JsonObject)imported.Sdk["details"]!).Select(kv => (kv.Key, (JsonObject)kv.Value!));

    private async Task<Dictionary<string, string>> SnapshotAsync()
    {
        var result = new Dictionary<string, string>();
        foreach (var (sessionId, _) in Details)
        {
            using var response = await imported.Server.Http.GetAsync($"v1/projects/{imported.ProjectOf(sessionId)}/sessions/{sessionId}/transcript");
            result[sessionId] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(await response.Content.ReadAsByteArrayAsync()));
        }

        return result;
    }

    private async Task<List<JsonObject>> LoadAsync(string projectKey, string sessionId)
    {
        using var response = await imported.Server.Http.GetAsync($"v1/projects/{projectKey}/sessions/{sessionId}/entries");
        response.EnsureSuccessStatusCode();
        return ((JsonArray)JsonNode.Parse(await response.Content.ReadAsStringAsync())!).Select(e => (JsonObject)e!).ToList();
    }

    private static void AssertFieldsEqual(JsonObject expected, JsonObject actual, string sessionId)
    {
        foreach (var field in InfoFields)
        {
            Assert.True(JsonNode.DeepEquals(expected[field], actual[field]), $"{sessionId}: {field} is {actual[field]?.ToJsonString() ?? "absent"}, the SDK says {expected[field]?.ToJsonString() ?? "absent"}");
        }
    }

    // Fresh uuids, the fork's session id and the fork time differ by design: replace them by stable placeholders.
    private static List<JsonObject> Normalize(List<JsonObject> entries, string forkSessionId)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal) { [forkSessionId] = "<fork>" };
        foreach (var e in entries)
        {
            if (e["uuid"] is JsonValue v && v.TryGetValue<string>(out var uuid))
            {
                names.TryAdd(uuid, $"<uuid{names.Count}>");
            }
        }

        var lastMessage = entries.FindLastIndex(e => e.ContainsKey("forkedFrom"));
        var result = new List<JsonObject>();
        for (var i = 0; i < entries.Count; i++)
        {
            var copy = (JsonObject)Replace(entries[i].DeepClone(), names)!;
            if (i == lastMessage || copy["type"]?.GetValue<string>() is "custom-title" or "content-replacement")
            {
                copy.Remove("timestamp");
            }

            result.Add(copy);
        }

        return result;
    }

    private static JsonNode? Replace(JsonNode? node, Dictionary<string, string> names)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    o[key] = Replace(o[key]?.DeepClone(), names);
                }

                return o;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    a[i] = Replace(a[i]?.DeepClone(), names);
                }

                return a;
            case JsonValue v when v.TryGetValue<string>(out var s) && names.TryGetValue(s, out var name):
                return JsonValue.Create(name);
            default:
                return node;
        }
    }

    private static string Trim(JsonNode node)
    {
        var s = node.ToJsonString();
        return s.Length > 600 ? s[..600] + "…" : s;
    }

    /// <summary>The server with every fixture imported by the CLI, and the SDK's answers on the same files.</summary>
    public sealed class Imported : IAsyncLifetime
    {
        public TServer Server { get; } = new();

        public string ConfigDir { get; } = RepoPaths.CopyFixtures();

        public JsonObject Sdk { get; private set; } = null!;

        public int ImportExitCode { get; private set; }

        public string ImportOutput { get; private set; } = "";

        public IEnumerable<string> ProjectKeys => Directory.EnumerateDirectories(Path.Combine(ConfigDir, "projects")).Select(Path.GetFileName)!;

        public string ProjectOf(string sessionId) =>
            ProjectKeys.Single(p => File.Exists(Path.Combine(ConfigDir, "projects", p, sessionId + ".jsonl")));

        public async Task InitializeAsync()
        {
            await Server.InitializeAsync();
            var (code, output, error) = await Server.CliAsync("import", ConfigDir, "--format", "json");
            ImportExitCode = code;
            ImportOutput = code == 0 ? output : throw new InvalidOperationException($"import failed ({code}): {error}{output}");
            Sdk = await SdkOracle.DumpAsync(RepoPaths.CopyFixtures());
        }

        public Task DisposeAsync() => Server.DisposeAsync();
    }
}

/// <summary>Fixture parity on the embedded deployment (files and SQLite).</summary>
[Trait("Category", "Integration")]
public sealed class EmbeddedFixtureParityTests(FixtureParityTests<ServerFixture>.Imported imported)
    : FixtureParityTests<ServerFixture>(imported), IClassFixture<FixtureParityTests<ServerFixture>.Imported>;

/// <summary>Fixture parity on the cluster deployment (three nodes over Azurite and PostgreSQL; requests rotate over the nodes).</summary>
[Trait("Category", "Cluster")]
public sealed class ClusterFixtureParityTests(FixtureParityTests<ClusterFixture>.Imported imported)
    : FixtureParityTests<ClusterFixture>(imported), IClassFixture<FixtureParityTests<ClusterFixture>.Imported>;
