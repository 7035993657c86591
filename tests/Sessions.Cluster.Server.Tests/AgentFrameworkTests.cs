using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;
using Sessions.Cluster.AgentFramework;
using Sessions.Cluster.Client;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// Microsoft Agent Framework's <c>ChatClientAgent</c> keeping its history in a real server through
/// <see cref="SessionsChatHistoryProvider"/>: messages come back equal, a run on another "host" resumes by session id, a
/// fork continues from a message, and the Agent SDK's own getSessionMessages reads what the .NET agent wrote. The chat
/// client is deterministic and in process (no network, no model).
/// </summary>
[Trait("Category", "Integration")]
public sealed class AgentFrameworkTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private const string Project = "dotnet-agent";

    [Fact]
    [Trait("Category", "Unit")]
    public void Messages_OfEveryKind_ComeBackEqual_FromTheirEntries()
    {
        ChatMessage[] messages =
        [
            new(ChatRole.System, "You are terse."),
            new(ChatRole.User, [new TextContent("What is in the picture? <b>&</b> é 😀"), new DataContent(new byte[] { 137, 80, 78, 71, 1, 2 }, "image/png")])
            {
                AdditionalProperties = new() { ["traceId"] = "abc", ["attempt"] = 2 },
            },
            new(ChatRole.Assistant, [new TextReasoningContent("look first"), new FunctionCallContent("call-1", "describe", new Dictionary<string, object?> { ["detail"] = "high", ["n"] = 3 })])
            {
                MessageId = "msg_1", AuthorName = "vision",
            },
            new(ChatRole.Tool, [new FunctionResultContent("call-1", "a cat on a mat")]),
            new(ChatRole.Assistant, "A cat.") { CreatedAt = DateTimeOffset.Parse("2026-12-07T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture) },
        ];

        var (lines, last) = TranscriptMessages.ToEntries(messages, "s1", null, DateTimeOffset.UnixEpoch);
        var (back, lastBack) = TranscriptMessages.FromTranscript(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines)));

        Assert.Equal(last, lastBack);
        Assert.Equal(messages.Length, back.Count);
        for (var i = 0; i < messages.Length; i++)
        {
            Assert.Equal(JsonSerializer.Serialize(messages[i], AIJsonUtilities.DefaultOptions), JsonSerializer.Serialize(back[i], AIJsonUtilities.DefaultOptions));
        }

        // The entries are Claude Code's shape, chained: what the console, search and the SDK read.
        var entries = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], entries.Select(e => (string)e["type"]!));
        Assert.Null(entries[0]["parentUuid"]);
        Assert.All(entries.Skip(1).Zip(entries), p => Assert.Equal((string?)p.Second["uuid"], (string?)p.First["parentUuid"]));
        Assert.Equal("image", (string?)entries[1]["message"]!["content"]![1]!["type"]);
        Assert.Equal("tool_use", (string?)entries[2]["message"]!["content"]![1]!["type"]);
        Assert.Equal("high", (string?)entries[2]["message"]!["content"]![1]!["input"]!["detail"]);
        Assert.Equal("tool_result", (string?)entries[3]["message"]!["content"]![0]!["type"]);
        Assert.Equal("a cat on a mat", (string?)entries[3]["message"]!["content"]![0]!["content"]);

        // Entries Claude Code wrote (no .NET message field) are read from their shape.
        var claude = entries.Select(e => { e.Remove(TranscriptMessages.MessageField); return e.ToJsonString(); });
        var (read, _) = TranscriptMessages.FromTranscript(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', claude)));
        Assert.Equal([ChatRole.System, ChatRole.User, ChatRole.Assistant, ChatRole.Tool, ChatRole.Assistant], read.Select(m => m.Role));
        Assert.Equal("A cat.", read[4].Text);
        Assert.Equal("describe", read[2].Contents.OfType<FunctionCallContent>().Single().Name);
        Assert.Equal("a cat on a mat", read[3].Contents.OfType<FunctionResultContent>().Single().Result);
        Assert.Equal("image/png", read[1].Contents.OfType<DataContent>().Single().MediaType);

        // A tool input as deep as the server accepts (past System.Text.Json's default of 64) is read too.
        JsonNode deep = new JsonObject { ["leaf"] = "x" };
        for (var i = 0; i < 200; i++)
        {
            deep = new JsonObject { ["l"] = deep };
        }

        var deepEntry = new JsonObject
        {
            ["type"] = "assistant", ["uuid"] = "d1", ["parentUuid"] = null, ["sessionId"] = "s1",
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_use", ["id"] = "c", ["name"] = "deep", ["input"] = deep }) },
        };
        var (deepRead, _) = TranscriptMessages.FromTranscript(System.Text.Encoding.UTF8.GetBytes(deepEntry.ToJsonString(new JsonSerializerOptions { MaxDepth = 300 })));
        Assert.Equal("deep", deepRead.Single().Contents.OfType<FunctionCallContent>().Single().Name);
    }

    [Fact]
    public async Task AChatClientAgent_KeepsItsHistoryInTheServer_ResumesElsewhere_Forks_AndTheSdkReadsIt()
    {
        // Host A: two runs of one agent session.
        var modelA = new EchoChatClient();
        var (agentA, historyA) = Agent(modelA);
        var session = await agentA.CreateSessionAsync();
        Assert.Equal("echo 1: hello", (await agentA.RunAsync("hello", session)).Text);
        Assert.Equal("echo 2: again", (await agentA.RunAsync("again", session)).Text);
        // The second run was given the first run's messages, from the server.
        Assert.Equal(["hello", "echo 1: hello", "again"], modelA.Seen[^1].Select(m => m.Text));
        var sessionId = historyA.SessionId(session);

        // Host B: a new process's agent with only the session id resumes the conversation.
        var modelB = new EchoChatClient(start: 3);
        var (agentB, historyB) = Agent(modelB);
        var resumed = await agentB.CreateSessionAsync();
        historyB.Resume(resumed, sessionId);
        await agentB.RunAsync("and again", resumed);
        Assert.Equal(["hello", "echo 1: hello", "again", "echo 2: again", "and again"], modelB.Seen[^1].Select(m => m.Text));

        // A fork at the first answer continues from there; the original keeps all of it.
        var uuids = await historyB.ListMessageUuidsAsync(resumed, CancellationToken.None);
        Assert.Equal(6, uuids.Count);
        var forked = await agentB.CreateSessionAsync();
        await historyB.ForkAsync(resumed, forked, uuids[1], "a fork", CancellationToken.None);
        await agentB.RunAsync("branch", forked);
        Assert.Equal(["hello", "echo 1: hello", "branch"], modelB.Seen[^1].Select(m => m.Text));
        Assert.Equal(6, (await historyB.ListMessageUuidsAsync(resumed, CancellationToken.None)).Count);

        // The Agent SDK's getSessionMessages reads what the .NET agent wrote.
        var transcript = await server.CreateClient().GetTranscriptAsync(Project, sessionId, null, CancellationToken.None);
        var config = RepoPaths.TempDir("agent-framework-sdk");
        Directory.CreateDirectory(Path.Combine(config, "projects", Project));
        await File.WriteAllBytesAsync(Path.Combine(config, "projects", Project, sessionId + ".jsonl"), transcript!);
        var sdk = (JsonArray)(await SdkOracle.DumpAsync(config))["details"]![sessionId]!["messages"]!;
        Assert.Equal(["user", "assistant", "user", "assistant", "user", "assistant"], sdk.Select(m => (string?)m!["type"]));
        Assert.Equal(uuids, sdk.Select(m => (string)m!["uuid"]!));
        Assert.Equal("and again", (string?)sdk[4]!["message"]!["content"]![0]!["text"]);
    }

    [Fact]
    public async Task ARunReadsTheTranscriptOnce_AndTwoHostsInOneSessionAtOnce_ChainOneAfterTheOther()
    {
        var reads = new CountingHandler(r => r.Method == HttpMethod.Get && r.RequestUri!.AbsolutePath.EndsWith("/transcript", StringComparison.Ordinal));
        var historyA = new SessionsChatHistoryProvider(new SessionsClient(new HttpClient(reads), new SessionsClientOptions { Url = server.BaseUrl }), new SessionsChatHistoryOptions { ProjectKey = Project });
        var modelA = new EchoChatClient();
        var agentA = new ChatClientAgent(modelA, new ChatClientAgentOptions { Name = "echo", ChatHistoryProvider = historyA });
        var session = await agentA.CreateSessionAsync();
        await agentA.RunAsync("hello", session);
        await agentA.RunAsync("again", session);
        Assert.Equal(2, reads.Count);

        // Host B runs in the same session while host A's third run waits for its model: A's append finds the transcript
        // grown, reads it again and chains its messages after B's.
        var sessionId = historyA.SessionId(session);
        var modelB = new EchoChatClient(start: 10);
        var (agentB, historyB) = Agent(modelB);
        modelA.Before = async () =>
        {
            var other = await agentB.CreateSessionAsync();
            historyB.Resume(other, sessionId);
            await agentB.RunAsync("from B", other);
        };
        Assert.Equal("echo 3: third", (await agentA.RunAsync("third", session)).Text);
        Assert.Equal(4, reads.Count);

        var transcript = (await server.CreateClient().GetTranscriptAsync(Project, sessionId, null, CancellationToken.None))!;
        var (messages, _) = TranscriptMessages.FromTranscript(transcript);
        Assert.Equal(["hello", "echo 1: hello", "again", "echo 2: again", "from B", "echo 10: from B", "third", "echo 3: third"], messages.Select(m => m.Text));
        // One chain through every entry: nothing branched from the message both hosts read last.
        Assert.Equal(8, TranscriptMessages.ChainUuids(transcript).Count);
        Assert.Equal(8, Encoding.UTF8.GetString(transcript).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        // The next run of A reads once again and goes on after its own append, with no conflict.
        modelA.Before = null;
        await agentA.RunAsync("fourth", session);
        Assert.Equal(5, reads.Count);
        Assert.Equal(10, TranscriptMessages.ChainUuids((await server.CreateClient().GetTranscriptAsync(Project, sessionId, null, CancellationToken.None))!).Count);
    }

    private (ChatClientAgent Agent, SessionsChatHistoryProvider History) Agent(IChatClient model)
    {
        var history = new SessionsChatHistoryProvider(server.CreateClient(), new SessionsChatHistoryOptions { ProjectKey = Project });
        var agent = new ChatClientAgent(model, new ChatClientAgentOptions { Name = "echo", ChatHistoryProvider = history });
        return (agent, history);
    }

    // A model that answers "echo N: <last user text>" and remembers what it was given each call.
    private sealed class EchoChatClient(int start = 1) : IChatClient
    {
        private int _next = start;

        public List<List<ChatMessage>> Seen { get; } = [];

        /// <summary>Runs before the next answer (once), e.g. another host's run in the same session.</summary>
        public Func<Task>? Before { get; set; }

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            var given = messages.ToList();
            Seen.Add(given);
            if (Before is { } before)
            {
                Before = null;
                await before();
            }

            var last = given.Last(m => m.Role == ChatRole.User).Text;
            return new ChatResponse(new ChatMessage(ChatRole.Assistant, $"echo {_next++}: {last}"));
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
            {
                yield return update;
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    // Counts the requests that match, on their way to the network.
    private sealed class CountingHandler(Func<HttpRequestMessage, bool> matches) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _count;

        public int Count => _count;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (matches(request))
            {
                Interlocked.Increment(ref _count);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
