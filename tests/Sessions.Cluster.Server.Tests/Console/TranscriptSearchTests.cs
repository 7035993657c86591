using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Server.Console;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Server.Tests.Console;

/// <summary>Search inside one transcript, highlights in rendered Markdown, and how a fork differs from its parent (unit tests).</summary>
[Trait("Category", "Unit")]
public sealed class TranscriptSearchTests
{
    private static byte[] BigTranscript() => File.ReadAllBytes(Path.Combine(RepoPaths.ClaudeFixtures, "projects",
        ConsoleBrowserTests.BigProject, ConsoleBrowserTests.BigSession + ".jsonl"));

    private static JsonObject Entry(string uuid, string type, JsonNode content, JsonObject? extra = null)
    {
        var entry = new JsonObject { ["uuid"] = uuid, ["type"] = type, ["message"] = new JsonObject { ["role"] = type, ["content"] = content } };
        foreach (var (name, value) in extra ?? [])
        {
            entry[name] = value?.DeepClone();
        }

        return entry;
    }

    [Fact]
    public void Hits_AreTheMessagesHoldingTheText_IgnoringCase_AToolResultCountingForItsCall()
    {
        List<JsonObject> messages =
        [
            Entry("u1", "user", "Please find the Needle in the haystack"),
            Entry("a1", "assistant", new JsonArray(
                new JsonObject { ["type"] = "thinking", ["thinking"] = "where is the needle?" },
                new JsonObject { ["type"] = "tool_use", ["id"] = "t1", ["name"] = "Grep", ["input"] = new JsonObject { ["pattern"] = "x", ["path"] = "/src" } })),
            Entry("r1", "user", new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "t1", ["content"] = "found NEEDLE at line 3, and needle again" })),
            Entry("a2", "assistant", new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Nothing here." })),
        ];

        var hits = TranscriptSearch.Find(messages, "  needle ")!;

        Assert.Equal("needle", hits.Query);
        Assert.Equal(["u1", "a1"], hits.Hits.Select(h => h.Uuid));
        Assert.Equal(4, hits.Matches);
        Assert.Equal(3, hits.Hits[1].Matches);
        Assert.Equal(("Please find the ", "Needle", " in the haystack"), (hits.Hits[0].Before, hits.Hits[0].Match, hits.Hits[0].After));
        Assert.Equal(1, hits.IndexOf("a1"));
        Assert.Equal(-1, hits.IndexOf("r1"));
        Assert.False(hits.Truncated);
        Assert.Null(TranscriptSearch.Find(messages, " "));
        Assert.Empty(TranscriptSearch.Find(messages, "absent")!.Hits);
    }

    [Fact]
    public void Hits_InARealSession_LeadToThePagesHoldingThem_WithContextOnOneLine()
    {
        var transcript = BigTranscript();
        var history = TranscriptHistory.Read(transcript);

        var hits = TranscriptSearch.Find(history, "compact")!;

        Assert.NotEmpty(hits.Hits);
        Assert.All(hits.Hits, h =>
        {
            Assert.Equal("compact", h.Match, ignoreCase: true);
            Assert.DoesNotContain('\n', h.Before + h.After);
            Assert.True(h.Before.TrimStart('…').Length <= TranscriptSearch.ContextChars && h.After.TrimEnd('…').Length <= TranscriptSearch.ContextChars);
        });
        // Each hit's page, opened at it, holds it.
        foreach (var hit in hits.Hits.Take(20))
        {
            var page = TranscriptModelBuilder.Build(history, transcript, 0, 100, hit.Uuid);
            Assert.Contains(page.Messages, m => m.Uuid == hit.Uuid);
        }

        // Hits are in the order of the view.
        var order = history.Select(e => (string?)e["uuid"]).ToList();
        Assert.Equal(hits.Hits.Select(h => order.IndexOf(h.Uuid)).Order(), hits.Hits.Select(h => order.IndexOf(h.Uuid)));
    }

    [Fact]
    public void Highlights_InRenderedMarkdown_WrapTextOnly_NeverTagsOrEntities()
    {
        var html = ConsoleMarkdown.ToHtml("Use **a & b** in [amp docs](https://example.com/amp) and `x<amp>y`");

        var marked = ConsoleMarkdown.MarkHits(html, "amp");

        // "amp" is in the link's text, the code span's text and inside "&amp;" entities and the href: only text is marked.
        Assert.Contains("<a href=\"https://example.com/amp\"", marked, StringComparison.Ordinal);
        Assert.Contains("<mark>amp</mark> docs", marked, StringComparison.Ordinal);
        Assert.Contains("x&lt;<mark>amp</mark>&gt;y", marked, StringComparison.Ordinal);
        Assert.Contains("a &amp; b", marked, StringComparison.Ordinal);
        Assert.Contains("<mark>&amp;</mark>", ConsoleMarkdown.MarkHits(html, "&"), StringComparison.Ordinal);
        Assert.Equal(html, ConsoleMarkdown.MarkHits(html, null));
        Assert.Equal(html, ConsoleMarkdown.MarkHits(html, "absent"));
        // A search text that looks like markup is text too.
        Assert.DoesNotContain("<script", ConsoleMarkdown.MarkHits(ConsoleMarkdown.ToHtml("a <script> b"), "<script>"), StringComparison.Ordinal);
        Assert.Contains("<mark>&lt;script&gt;</mark>", ConsoleMarkdown.MarkHits(ConsoleMarkdown.ToHtml("a <script> b"), "<script>"), StringComparison.Ordinal);
    }

    [Fact]
    public void ForkDiff_OfARealFork_SaysWhereItLeavesItsParent_WhatItHasOfItsOwn_AndWhatTheParentHasSince()
    {
        var parent = TranscriptHistory.Read(BigTranscript());
        var all = Encoding.UTF8.GetString(BigTranscript()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var cut = parent.Where(e => (string?)e["type"] == "assistant").Skip(40).First();
        var cutUuid = (string)cut["uuid"]!;
        var fork = ForkBuilder.Build(all, ConsoleBrowserTests.BigSession, "fork-1", cutUuid, "a fork", null, DateTimeOffset.UnixEpoch, () => Guid.NewGuid().ToString());
        var forkLines = fork.Select(e => e.ToJsonString()).Append(Entry("own-1", "user", "a question only the fork asked").ToJsonString());
        var forkHistory = TranscriptHistory.Read(Encoding.UTF8.GetBytes(string.Join('\n', forkLines)));

        var own = ForkDiff.Of(ConsoleBrowserTests.BigSession, forkHistory);
        var diff = own.WithParent(ForkDiff.Following(parent, own.Cut!));

        Assert.Equal(cutUuid, diff.Cut);
        Assert.Equal(forkHistory.Count - 1, diff.Copied);
        Assert.Equal((1, "own-1"), (diff.Own, diff.FirstOwn));
        var cutIndex = parent.FindIndex(e => (string?)e["uuid"] == cutUuid);
        Assert.Equal(parent.Count - cutIndex - 1, diff.ParentAfter);
        Assert.Equal((string?)parent[cutIndex + 1]["uuid"], diff.ParentNext);
        // Without the parent (deleted, or without that message), the fork still tells its own side.
        Assert.Null(ForkDiff.Of(ConsoleBrowserTests.BigSession, forkHistory).WithParent(null).ParentAfter);
        Assert.Null(ForkDiff.Following(parent, "no-such-message"));

        // The page marks the copied messages and where the fork's own begin.
        var page = TranscriptModelBuilder.Build(forkHistory, default, 0, 10_000);
        Assert.Equal("own-1", page.ForkPoint);
        Assert.All(page.Messages.Where(m => m.Uuid != "own-1"), m => Assert.NotNull(m.ForkedFrom));
        Assert.Null(TranscriptModelBuilder.Build(parent, default, 0, 100).ForkPoint);
    }
}
