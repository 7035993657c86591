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
        Assert.False(File.Exists(marker.Replace("/", "", StringComparison.Ordinal)), "a pasted command ran something");
        Assert.False(File.Exists(marker), "a pasted command ran something");
    }

    [Theory]
    [InlineData("4d5611e5-241a-462a-8d15-5122611a9569", "4d5611e5-241a-462a-8d15-5122611a9569")]
    [InlineData("-home-user-proj", "'-home-user-proj'")]
    [InlineData("it's", "'it'\\''s'")]
    [InlineData("", "''")]
    [Trait("Category", "Unit")]
    public void Posix_QuotesAllButPlainWords(string value, string expected) => Assert.Equal(expected, ShellQuote.Posix(value));

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

    [GeneratedRegex("<input class=\"command\" readonly aria-label=\"[^\"]+\" value=\"([^\"]*)\"")]
    private static partial Regex CommandInput();
}
