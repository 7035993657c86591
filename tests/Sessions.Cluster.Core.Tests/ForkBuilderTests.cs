using System.Text.Json.Nodes;
using FsCheck.Fluent;
using Sessions.Cluster.Core.Sdk;

namespace Sessions.Cluster.Core.Tests;

/// <summary>Property tests of fork remapping (its parity with the SDK on real transcripts is tested in Server.Tests).</summary>
[Trait("Category", "Unit")]
public sealed class ForkBuilderTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-21T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    // A random transcript: each entry's parent is an earlier entry (branches allowed); some are progress or sidechain.
    private static List<JsonObject> Transcript(int[] parents, int[] kinds)
    {
        var list = new List<JsonObject>();
        for (var i = 0; i < parents.Length; i++)
        {
            var kind = kinds[i % kinds.Length] % 6;
            list.Add(new JsonObject
            {
                ["type"] = kind == 0 ? "progress" : i % 2 == 0 ? "user" : "assistant",
                ["uuid"] = $"u{i}",
                ["parentUuid"] = i == 0 ? null : $"u{parents[i] % i}",
                ["isSidechain"] = kind == 1 && i > 0,
                ["sessionId"] = "parent",
                ["timestamp"] = $"2026-01-01T00:00:{i % 60:D2}.000Z",
                ["message"] = new JsonObject { ["content"] = $"m{i}" },
            });
        }

        return list;
    }

    [Fact]
    public void Fork_InPlace_EqualsTheCopyingBuild_OnRandomTranscriptsWithEveryRemappedField()
    {
        var gen = Gen.Choose(1, 40).SelectMany(n => Gen.Zip(Gen.ArrayOf(Gen.Choose(0, 1000), n), Gen.ArrayOf(Gen.Choose(0, 1000), n)));
        var compared = 0;
        foreach (var (parents, kinds) in gen.Sample(300))
        {
            var source = Transcript(parents, kinds);
            for (var i = 0; i < source.Count; i++)
            {
                // The fields the build reads before it rewrites: logical parents, request sessions, earlier forks, no timestamp.
                var e = source[i];
                switch (kinds[i % kinds.Length] % 5)
                {
                    case 0: e["logicalParentUuid"] = $"u{parents[i] % (i + 1)}"; break;
                    case 1: e["requestSessionId"] = "req"; break;
                    case 2: e["forkedFrom"] = new JsonObject { ["sessionId"] = "grandparent", ["messageUuid"] = "x" }; break;
                    case 3: e.Remove("timestamp"); break;
                    default: e["logicalParentUuid"] = null; break;
                }
            }

            string Build(bool reuse)
            {
                var counter = 0;
                var entries = source.Select(e => (JsonObject)e.DeepClone()).ToList();
                try
                {
                    return new JsonArray([.. ForkBuilder.Build(entries, "parent", "child", null, null, "t", Now, () => $"new{counter++}", reuse)]).ToJsonString();
                }
                catch (InvalidRequestException ex)
                {
                    return ex.Code;
                }
            }

            var copied = Build(reuse: false);
            Assert.Equal(copied, Build(reuse: true));
            compared += copied.StartsWith('[') ? 1 : 0;
        }

        Assert.True(compared > 100);
    }

    [Fact]
    public void Fork_RandomTranscripts_RemapsEveryLinkConsistently_AndDropsProgressAndSidechains()
    {
        var gen = Gen.Choose(1, 40).SelectMany(n => Gen.Zip(Gen.ArrayOf(Gen.Choose(0, 1000), n), Gen.ArrayOf(Gen.Choose(0, 1000), n)));
        foreach (var (parents, kinds) in gen.Sample(300))
        {
            var source = Transcript(parents, kinds);
            var bySource = source.ToDictionary(e => e["uuid"]!.GetValue<string>());
            var counter = 0;
            List<JsonObject> fork;
            try
            {
                fork = ForkBuilder.Build(source, "parent", "child", null, null, "t", Now, () => $"new{counter++}");
            }
            catch (InvalidRequestException)
            {
                Assert.All(source, e => Assert.True(e["type"]!.GetValue<string>() == "progress" || e["isSidechain"]!.GetValue<bool>()));
                continue;
            }

            var messages = fork.Where(e => e.ContainsKey("forkedFrom")).ToList();
            var newToOld = messages.ToDictionary(e => e["uuid"]!.GetValue<string>(), e => e["forkedFrom"]!["messageUuid"]!.GetValue<string>());
            Assert.All(messages, m =>
            {
                var old = bySource[m["forkedFrom"]!["messageUuid"]!.GetValue<string>()];
                Assert.NotEqual("progress", old["type"]!.GetValue<string>());
                Assert.False(old["isSidechain"]!.GetValue<bool>());
                Assert.Equal("child", m["sessionId"]!.GetValue<string>());
                Assert.False(m["isSidechain"]!.GetValue<bool>());

                // The new parent is the old parent's image, skipping progress lines (or null).
                var expected = old["parentUuid"]?.GetValue<string>();
                while (expected is not null && bySource[expected]["type"]!.GetValue<string>() == "progress")
                {
                    expected = bySource[expected]["parentUuid"]?.GetValue<string>();
                }

                var actual = m["parentUuid"]?.GetValue<string>();
                if (expected is null || bySource[expected]["isSidechain"]!.GetValue<bool>())
                {
                    Assert.Null(actual);
                }
                else
                {
                    Assert.Equal(expected, newToOld[actual!]);
                }
            });
            Assert.Equal("custom-title", fork[^1]["type"]!.GetValue<string>());
            Assert.Equal("t (fork)", fork[^1]["customTitle"]!.GetValue<string>());
            Assert.Equal(fork.Count, fork.Select(e => e["uuid"]?.GetValue<string>()).Distinct().Count());
        }
    }
}
