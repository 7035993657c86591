using System.Text.Json.Nodes;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// The packages as a .NET developer takes them: Sessions.Cluster.Client and Sessions.Cluster.AgentFramework packed to a
/// local folder, a fresh console app outside the repository (none of its build settings) adding them with
/// <c>dotnet add package</c>, and the README's sample — a <c>ChatClientAgent</c> whose history lives in the server —
/// run against a real server.
/// </summary>
[Trait("Category", "Integration")]
[Collection(PackingCollection.Name)]
public sealed class PackageConsumerTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    /// <summary>The README's sample (src/Sessions.Cluster.AgentFramework/README.md), with a model that counts what it is given.</summary>
    private const string Program = """
        using Microsoft.Agents.AI;
        using Microsoft.Extensions.AI;
        using Microsoft.Extensions.DependencyInjection;
        using Sessions.Cluster.AgentFramework;
        using Sessions.Cluster.Client;

        var services = new ServiceCollection().AddSessionsClient(o => o.Url = new Uri(args[0])).Services.BuildServiceProvider();
        var history = new SessionsChatHistoryProvider(services.GetRequiredService<SessionsClient>(), new() { ProjectKey = "my-agent" });
        var agent = new ChatClientAgent(new CountingModel(), new ChatClientAgentOptions { ChatHistoryProvider = history });
        var session = await agent.CreateSessionAsync();
        await agent.RunAsync("hello", session);
        Console.WriteLine((await agent.RunAsync("again", session)).Text);
        Console.WriteLine(history.SessionId(session));

        sealed class CountingModel : IChatClient
        {
            public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
                Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $"given {messages.Count()} messages")));
            public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
                throw new NotSupportedException();
            public object? GetService(Type serviceType, object? serviceKey = null) => null;
            public void Dispose() { }
        }
        """;

    [Fact]
    public async Task AFreshConsoleApp_AddsThePackedPackages_AndItsAgentKeepsItsHistoryInTheServer()
    {
        var feed = RepoPaths.TempDir("package-feed");
        foreach (var project in new[] { "Sessions.Cluster.Client", "Sessions.Cluster.AgentFramework" })
        {
            var (packed, packOutput) = await NodeTools.RunAsync("dotnet", RepoPaths.Root, null, "pack", Path.Combine(RepoPaths.Root, "src", project), "-c", "Release", "-o", feed);
            Assert.True(packed == 0, packOutput);
            Assert.True(File.Exists(Path.Combine(feed, $"{project}.0.1.0.snupkg")), $"{project} has no symbols package (SourceLink)");
        }

        var app = RepoPaths.TempDir("package-consumer");
        Assert.False(app.StartsWith(RepoPaths.Root, StringComparison.Ordinal), "the app must not sit under the repository (its build settings)");
        await RunAsync(app, "new", "console", "--framework", "net10.0", "--name", "Consumer", "--output", app);
        // The folder feed beside the usual one, as a developer adds it.
        await RunAsync(app, "new", "nugetconfig", "--output", app);
        await RunAsync(app, "nuget", "add", "source", feed, "--name", "sessions-local", "--configfile", Path.Combine(app, "nuget.config"));
        await RunAsync(app, "add", "package", "Sessions.Cluster.AgentFramework");
        await RunAsync(app, "add", "package", "Microsoft.Agents.AI", "--version", "1.28.0");
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), Program);

        var output = await RunAsync(app, "run", "--", server.BaseUrl.ToString());

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("given 3 messages", lines[^2]);
        var sessionId = lines[^1];
        var transcript = await server.CreateClient().GetTranscriptAsync("my-agent", sessionId, null, CancellationToken.None);
        var entries = System.Text.Encoding.UTF8.GetString(transcript!).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["user", "assistant", "user", "assistant"], entries.Select(e => (string?)e["type"]));
    }

    private static async Task<string> RunAsync(string dir, params string[] args)
    {
        var (code, output) = await NodeTools.RunAsync("dotnet", dir, null, args);
        Assert.True(code == 0, $"dotnet {string.Join(' ', args)}: {output}");
        return output;
    }
}
