using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>
/// The commands a session's page offers to copy (<c>sessions pull …</c>, <c>claude --resume …</c>) run, pasted into a
/// real bash, with exactly the session id and project key as arguments, whatever those opaque keys hold (issue 22 §3:
/// they were printed unquoted, so <c>$(…)</c> in a key ran).
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class ConsoleCommandQuotingTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("$(touch {marker})", "p;touch {marker}")]
    [InlineData("`touch {marker}`", "it's & more")]
    [InlineData("a'b c $HOME", "-rf")]
    [InlineData("inv\u202Eexe.fdp", "p\u200Bk'x")]
    public async Task CopiedCommands_PastedIntoBash_PassTheKeysVerbatim_AndRunNothingElse(string sessionTemplate, string projectTemplate)
    {
        var marker = Path.Combine(Path.GetTempPath(), "injected-" + Guid.NewGuid().ToString("N"));
        var sessionId = sessionTemplate.Replace("{marker}", marker, StringComparison.Ordinal).Replace("/", "", StringComparison.Ordinal);
        var projectKey = projectTemplate.Replace("{marker}", marker, StringComparison.Ordinal).Replace("/", "", StringComparison.Ordinal);
        var append = await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{Uri.EscapeDataString(projectKey)}/sessions/{Uri.EscapeDataString(sessionId)}/entries", $"[{Calls.Entry("u1")}]");
        Assert.Equal(HttpStatusCode.OK, append.Status);

        var page = await server.Http.GetStringAsync($"console/projects/{Uri.EscapeDataString(projectKey)}/sessions/{Uri.EscapeDataString(sessionId)}");
        var commands = CommandInput().Matches(page).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value)).ToList();
        Assert.Equal(2, commands.Count);
        Assert.Equal(["pull", sessionId, "--project", projectKey], await BashArgumentsAsync(commands[0], "sessions"));
        Assert.Equal(["--resume", sessionId], await BashArgumentsAsync(commands[1], "claude"));
        // The keys cannot hold '/', so an injected `touch` would have made the marker's name in bash's (this) folder.
        Assert.False(File.Exists(marker.Replace("/", "", StringComparison.Ordinal)), "a pasted command ran something");
    }

    // The arguments bash gives the command when the line is pasted (the program replaced by a function that prints them).
    private static async Task<List<string>> BashArgumentsAsync(string commandLine, string program)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var bash = Process.Start(start)!;
        await bash.StandardInput.WriteLineAsync($"{program}() {{ printf '%s\\0' \"$@\"; }}");
        await bash.StandardInput.WriteLineAsync(commandLine);
        bash.StandardInput.Close();
        var output = await bash.StandardOutput.ReadToEndAsync();
        await bash.WaitForExitAsync();
        return [.. output.Split('\0')[..^1]];
    }

    [GeneratedRegex("<input class=\"command\" readonly aria-label=\"[^\"]+\" data-copy=\"[^\"]+\" value=\"([^\"]*)\"")]
    private static partial Regex CommandInput();
}

/// <summary>How <see cref="ShellQuote"/> writes values (no server).</summary>
[Trait("Category", "Unit")]
public sealed class ShellQuoteTests
{
    [Theory]
    [InlineData("4d5611e5-241a-462a-8d15-5122611a9569", "4d5611e5-241a-462a-8d15-5122611a9569")]
    [InlineData("-home-user-proj", "'-home-user-proj'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    [InlineData("a\u202Eb'c\\", "$'a\\u202eb\\'c\\\\'")]
    public void Posix_QuotesAllButPlainWords(string value, string expected) => Assert.Equal(expected, ShellQuote.Posix(value));
}

/// <summary>Every console page answers hostile query strings with a page or a 4xx, never a 5xx (issue 22 §3: <c>?offset=abc</c> answered 500).</summary>
[Trait("Category", "Integration")]
public sealed class ConsoleHostileQueryTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task EveryPage_WithHostileQueryStrings_AnswersWithoutA5xx()
    {
        var pk = "q" + Guid.NewGuid().ToString("N")[..8];
        var id = Guid.NewGuid().ToString();
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries", $"[{Calls.Entry("u1")}]")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(server.Http, HttpMethod.Post, $"v1/projects/{pk}/sessions/{id}/entries?subpath=subagents/agent-s1", $"[{Calls.Entry("s1")}]")).Status);
        string[] pages =
        [
            "console", $"console/projects/{pk}", $"console/projects/{pk}/latest", "console/search", $"console/projects/{pk}/sessions/{id}",
            $"console/projects/{pk}/sessions/{id}/subagents/s1", $"console/projects/{pk}/sessions/{id}/fork", $"console/projects/{pk}/sessions/{id}/delete",
            "console/admin", "console/operator", "console/signin",
        ];
        string[] queries =
        [
            "offset=abc", "offset=-1", "offset=99999999999999999999", "offset=2147483647", "offset=1e3", "offset=%00", "cursor=garbage", "cursor=%FF%FE",
            "q=%00", "q=" + new string('x', 5000), "tag=%E2%80%AE", "done=forked", "done=%3Cscript%3E", "at=nope", "at=" + new string('a', 3000),
            "returnUrl=https%3A%2F%2Fevil.example", "offset=1&offset=2", "q",
        ];
        var failures = new List<string>();
        foreach (var page in pages)
        {
            foreach (var query in queries)
            {
                using var response = await server.Http.GetAsync($"{page}?{query}");
                if ((int)response.StatusCode >= 500)
                {
                    failures.Add($"{page}?{query[..Math.Min(query.Length, 60)]}: {(int)response.StatusCode}");
                }
            }
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }
}
