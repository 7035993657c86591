using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// The session list's model and token totals (issue 26 §3) on the embedded server: a real three-hour Claude Code
/// session appended batch by batch shows the totals its page counts over the whole history; a row written before the
/// catalog kept usage gets it from the session's next append after a new activation (read from the transcript); a
/// reindex counts every row's again.
/// </summary>
[Trait("Category", "Integration")]
[Trait("Category", "Console")]
public sealed partial class SessionListUsageTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ARealSession_AppendedInBatches_IsListedWithItsModelAndTheTotalsOfItsWholeHistory()
    {
        var project = "usage-" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(RepoPaths.ClaudeFixtures, "projects", ConsoleBrowserTests.BigProject, ConsoleBrowserTests.BigSession + ".jsonl");
        var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
        using var client = server.CreateClient();
        var sessionId = Guid.NewGuid().ToString();
        foreach (var batch in lines[..^1].Chunk(40))
        {
            await client.AppendLinesAsync(project, sessionId, null, batch, null, CancellationToken.None);
        }

        var before = SessionFacts.Of(TranscriptHistory.Read(Encoding.UTF8.GetBytes(string.Join('\n', lines[..^1]) + "\n")));
        Assert.Equal(Expected(before), await ListedUsageAsync(project));
        Assert.Equal("claude-opus-4-6", before.Models[0]);

        // A catalog row from before usage was kept, and a new activation: the next append counts the whole transcript.
        await using (var sqlite = new SqliteConnection($"Data Source={Path.Combine(server.DataDir, "catalog.db")}"))
        {
            await sqlite.OpenAsync();
            await using var clear = sqlite.CreateCommand();
            clear.CommandText = "UPDATE sessions SET usage = NULL WHERE project_key = $pk";
            clear.Parameters.AddWithValue("$pk", project);
            Assert.Equal(1, await clear.ExecuteNonQueryAsync());
        }

        Assert.Contains("<td class=\"usage\"><span class=\"muted\">–</span></td>", await server.Http.GetStringAsync($"console/projects/{project}"), StringComparison.Ordinal);
        await server.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await client.AppendLinesAsync(project, sessionId, null, [lines[^1]], null, CancellationToken.None);

        var all = SessionFacts.Of(TranscriptHistory.Read(File.ReadAllBytes(file)));
        Assert.Equal(Expected(all), await ListedUsageAsync(project));

        // A row whose usage is wrong is counted again from the transcript by a reindex (it trusts no row).
        await using (var sqlite = new SqliteConnection($"Data Source={Path.Combine(server.DataDir, "catalog.db")}"))
        {
            await sqlite.OpenAsync();
            await using var spoil = sqlite.CreateCommand();
            spoil.CommandText = """UPDATE sessions SET usage = '{"input":1,"output":1,"cacheRead":1,"cacheWrite":1,"messages":1,"through":0,"models":{"x":1},"recent":[]}' WHERE project_key = $pk""";
            spoil.Parameters.AddWithValue("$pk", project);
            Assert.Equal(1, await spoil.ExecuteNonQueryAsync());
        }

        Assert.Equal("x: 1/1/1/1", await ListedUsageAsync(project));
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, "v1/admin/reindex")).Status);
        Assert.Equal(Expected(all), await ListedUsageAsync(project));
    }

    [Fact]
    public async Task ASessionWithoutAssistantEntries_ShowsNoTotals()
    {
        var project = "usage-none-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{project}/sessions/{Guid.NewGuid()}/entries", $"[{Calls.Entry("u1")}]")).Status);
        var page = await server.Http.GetStringAsync($"console/projects/{project}");
        Assert.Contains("<td class=\"usage\"><span class=\"muted\">–</span></td>", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHostileModelName_IsListedAsText_CutShort()
    {
        var project = "usage-hostile-" + Guid.NewGuid().ToString("N")[..8];
        var model = "<img src=x onerror=alert(1)>\u202E" + new string('m', 500);
        var entry = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "assistant", ["uuid"] = "a1", ["parentUuid"] = "u1",
            ["message"] = new System.Text.Json.Nodes.JsonObject { ["id"] = "msg_1", ["model"] = model, ["role"] = "assistant", ["content"] = "hi", ["usage"] = new System.Text.Json.Nodes.JsonObject { ["output_tokens"] = 3 } },
        }.ToJsonString();
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{project}/sessions/{Guid.NewGuid()}/entries", $"[{Calls.Entry("u1", text: "go")},{entry}]")).Status);

        var page = await server.Http.GetStringAsync($"console/projects/{project}");
        Assert.DoesNotContain("<img", page, StringComparison.Ordinal);
        var shown = WebUtility.HtmlDecode(page);
        // As text, its bidi control named (Links.Shown), cut at 128 characters with the rest of the name.
        Assert.Contains("<img src=x onerror=alert(1)>[U+202E]mmm", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("\u202E", shown, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('m', SessionUsage.MaxModelChars), shown, StringComparison.Ordinal);
    }

    private static string Expected(SessionFacts facts) =>
        $"{facts.Models[0]}: {facts.Tokens.Input}/{facts.Tokens.CacheRead}/{facts.Tokens.CacheWrite}/{facts.Tokens.Output}";

    // The one listed session's model and exact totals, from its row's cell and the cell's title.
    private async Task<string> ListedUsageAsync(string project)
    {
        var page = WebUtility.HtmlDecode(await server.Http.GetStringAsync($"console/projects/{project}"));
        var cell = UsageCell().Match(page);
        Assert.True(cell.Success, "the session's row has a model and tokens cell");
        static long N(Group g) => long.Parse(g.Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
        return $"{cell.Groups["model"].Value.Trim()}: {N(cell.Groups["input"])}/{N(cell.Groups["read"])}/{N(cell.Groups["write"])}/{N(cell.Groups["output"])}";
    }

    [GeneratedRegex("""<td class="usage" title="[\d,]+ API messages; prompt tokens (?<input>[\d,]+) input, (?<read>[\d,]+) cache read, (?<write>[\d,]+) cache write; output (?<output>[\d,]+)">(?<model>[^<]*)<div""")]
    private static partial Regex UsageCell();
}
