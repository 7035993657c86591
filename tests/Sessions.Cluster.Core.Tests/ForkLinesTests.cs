using System.Text;
using System.Text.Json.Nodes;
using Sessions.Cluster.Core.Sdk;
using Sessions.Cluster.Testing;

namespace Sessions.Cluster.Core.Tests;

/// <summary>
/// The byte-level fork writer must give exactly <see cref="JsJson.Stringify"/> of the forked entry (the SDK's
/// <c>JSON.stringify</c>): on every real transcript of ../shared/fixtures forked at several messages, and on lines
/// that are not in <c>JSON.stringify</c>'s form (which it must recognise and leave to the slow path).
/// </summary>
[Trait("Category", "Unit")]
public sealed class ForkLinesTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-28T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void EveryForkedEntryOfEveryFixture_IsWrittenAsStringifyWritesIt()
    {
        var files = Directory.GetFiles(Path.Combine(RepoPaths.ClaudeFixtures, "projects"), "*.jsonl", SearchOption.AllDirectories);
        var (compared, copied) = (0, 0);
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            var messages = TranscriptText.ParseObjects(bytes).Where(e => (string?)e["type"] is "user" or "assistant" && e["uuid"] is not null).Select(e => (string)e["uuid"]!).ToList();
            foreach (var cut in new[] { null, messages.ElementAtOrDefault(messages.Count / 3), messages.LastOrDefault() }.Distinct())
            {
                var parsed = TranscriptText.ParseLines(bytes);
                List<JsonObject> forked;
                try
                {
                    forked = ForkBuilder.Build(parsed.ConvertAll(p => p.Entry), "parent", "fork", cut, null, "title", Now, () => Guid.NewGuid().ToString(), reuseEntries: true);
                }
                catch (Exception ex) when (ex is NotFoundException or InvalidRequestException)
                {
                    continue; // a sidechain-only or summary-only file: the SDK refuses it too
                }

                foreach (var (entry, line) in parsed.Where(p => forked.Contains(p.Entry)))
                {
                    var expected = Encoding.UTF8.GetString(JsJson.Stringify(entry));
                    Assert.Equal(expected, Encoding.UTF8.GetString(ForkLines.Write(entry, bytes.AsSpan(line))));
                    compared++;
                    copied += ForkLines.IsCanonical(bytes.AsSpan(line)) ? 1 : 0;
                }
            }
        }

        Assert.True(compared > 1000, $"only {compared} entries were compared");
        // The fast path is what the real transcripts take (they are written by JSON.stringify).
        Assert.True(copied > compared * 9 / 10, $"only {copied} of {compared} lines were copied");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("-12")]
    [InlineData("1.5")]
    [InlineData("1.50")]
    [InlineData("1e5")]
    [InlineData("1E2")]
    [InlineData("-0")]
    [InlineData("-0.5")]
    [InlineData("0.000001")]
    [InlineData("0.0000001")]
    [InlineData("123456789012345")]
    [InlineData("12345678901234567890")]
    [InlineData("0.30000000000000004", false)]
    [InlineData("\"caf\\u00e9\"")]
    [InlineData("\"café\"")]
    [InlineData("\"a\\/b\"")]
    [InlineData("\"\\u001f\"")]
    [InlineData("\"\\u001F\"")]
    [InlineData("\"\\u0008\"")]
    [InlineData("\"\\b\\f\\n\\r\\t\\\"\\\\\"")]
    [InlineData("\"\\u000b\"")]
    [InlineData("[1,2]")]
    [InlineData("[1, 2]")]
    [InlineData("{\"x\":true,\"y\":null}")]
    [InlineData("{\"x\" :true}")]
    public void IsCanonical_SaysYesOnlyWhenStringifyGivesTheSameBytes(string value, bool decidable = true)
    {
        var line = Encoding.UTF8.GetBytes($"{{\"type\":\"user\",\"a\":{value},\"uuid\":\"u1\"}}");
        var roundTrip = JsJson.Stringify(JsJson.Parse(line)).AsSpan().SequenceEqual(line);
        // Numbers of more than 15 significant digits are left to the slow path even when they would print the same.
        Assert.Equal(decidable && roundTrip, ForkLines.IsCanonical(line));

        // Whatever the line's form, the fork writer's output is the entry as stringify writes it.
        var entry = (JsonObject)JsJson.Parse(line)!;
        entry["uuid"] = "u2";
        entry["forkedFrom"] = new JsonObject { ["sessionId"] = "p", ["messageUuid"] = "u1" };
        Assert.Equal(Encoding.UTF8.GetString(JsJson.Stringify(entry)), Encoding.UTF8.GetString(ForkLines.Write(entry, line)));
    }
}
