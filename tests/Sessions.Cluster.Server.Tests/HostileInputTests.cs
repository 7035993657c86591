using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Sessions.Cluster.Server.Tests.Infrastructure;

namespace Sessions.Cluster.Server.Tests;

/// <summary>
/// More than a thousand generated hostile requests (FsCheck generators): invalid UTF-8, invalid JSON, deep nesting,
/// oversized lines and batches, NUL and control characters, path traversal and encoded slashes in project keys and
/// subpaths, malformed and oversized ids, slow bodies. Every one must answer 4xx (never 2xx, never 5xx), nothing may
/// be written anywhere, and the existing transcripts must load unchanged.
/// </summary>
[Trait("Category", "Integration")]
public sealed class HostileInputTests(KeyedServerFixture server) : IClassFixture<KeyedServerFixture>
{
    private sealed record Case(string Kind, HttpMethod Method, string Url, byte[]? Body);

    [Fact]
    public async Task ThousandsOfGeneratedHostileRequests_All4xx_NothingWritten_ExistingTranscriptsUnchanged()
    {
        var tenant = "h" + Guid.NewGuid().ToString("N")[..8];
        var key = await Keys.IssueAsync(server.BaseUrl, tenant, "read", "write", "admin");
        using var http = Keys.Client(server.BaseUrl, key);
        var fixture = Path.Combine(Sessions.Cluster.Testing.RepoPaths.ClaudeFixtures, "projects", "-Users-philipp-dev-studio", "0e26ec2f-937e-482c-b889-bc126f996913.jsonl");
        var existing = "[" + string.Join(',', File.ReadAllLines(fixture)) + "]";
        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(http, HttpMethod.Post, "v1/projects/good/sessions/kept/entries", existing)).Status);
        using var op = Keys.Client(server.BaseUrl, Keys.Operator);
        await Calls.SendAsync(op, HttpMethod.Put, $"v1/tenants/{tenant}/limits", "{\"maxEntryBytes\":2000}");
        var before = await HashAsync(http, "v1/projects/good/sessions/kept/transcript");
        var filesBefore = Files();

        var cases = Gen.OneOf(BadBodies(), BadProjectKeys(), BadSubpaths(), BadSessionIds(), OversizedEntries(), DeepNesting(), HugeBatches()).Sample(1100).ToList();
        var kinds = cases.GroupBy(c => c.Kind).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(kinds.Count == 7 && kinds.Values.All(n => n >= 20), string.Join(", ", kinds));
        var failures = new List<string>();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, ct) =>
        {
            using var request = new HttpRequestMessage(c.Method, c.Url);
            if (c.Body is not null)
            {
                request.Content = new ByteArrayContent(c.Body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, ct);
            }
            catch (HttpRequestException ex)
            {
                lock (failures)
                {
                    failures.Add($"{c.Kind} {c.Method} {c.Url[..Math.Min(c.Url.Length, 200)]}: no answer ({ex.InnerException?.Message ?? ex.Message})");
                }

                return;
            }

            using var _ = response;
            var status = (int)response.StatusCode;
            if (status is < 400 or >= 500)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                lock (failures)
                {
                    failures.Add($"{c.Kind} {c.Method} {c.Url[..Math.Min(c.Url.Length, 200)]}: {status} {text[..Math.Min(200, text.Length)]} body {(c.Body is null ? "" : Convert.ToHexString(c.Body[..Math.Min(c.Body.Length, 60)]))}");
                }
            }
        });

        // One slow body: sent a few bytes at a time over a second, then rejected like any other invalid body.
        using (var slow = new HttpRequestMessage(HttpMethod.Post, "v1/projects/good/sessions/slow/entries") { Content = new StreamContent(new SlowStream(Encoding.UTF8.GetBytes("[{\"type\":\"user\",\"uuid\":\"x\"},{broken")), 64) })
        {
            slow.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await http.SendAsync(slow);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} cases did not answer 4xx:\n{string.Join('\n', failures.Take(20))}");
        Assert.Equal(filesBefore, Files());
        Assert.Equal(before, await HashAsync(http, "v1/projects/good/sessions/kept/transcript"));
    }

    private List<string> Files() =>
        Directory.EnumerateFiles(Path.Combine(server.DataDir, "transcripts"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(server.DataDir, f)).Order().ToList();

    private static async Task<string> HashAsync(HttpClient http, string url) =>
        Convert.ToHexString(SHA256.HashData(await (await http.GetAsync(url)).Content.ReadAsByteArrayAsync()));

    private static string Escape(string s) => string.Concat(s.Select(c => c is '%' ? "%" : char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c.ToString() : Uri.EscapeDataString(c.ToString())));

    // Entries bodies that are not a JSON array of entry objects: invalid UTF-8, broken JSON, wrong shapes, raw control characters.
    private static Gen<Case> BadBodies()
    {
        var invalidUtf8 = Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(bytes => (byte[])[.. "[{\"type\":\"user\",\"x\":\""u8.ToArray(), 0xC3, 0x28, 0xFF, .. bytes, .. "\"}]"u8.ToArray()]);
        var broken = Gen.Elements("[", "]", "{", "}", ",", ":", "\"", "null", "true", "1e999", "\"\\u12\"", "[{\"type\":1}]", "{\"type\":\"user\"}", "[\"x\"]", "[[]]", "[{}]", "NaN", "'x'", "\u0000", "[{\"type\":\"a\"},]")
            .ArrayOf().Where(a => a.Length > 0).Select(parts => Encoding.UTF8.GetBytes(string.Concat(parts)))
            .Where(b => !IsValidEntryArray(b));
        var control = Gen.Choose(0, 31).Select(c => Encoding.UTF8.GetBytes($"[{{\"type\":\"user\",\"text\":\"a{(char)c}b\"}}]")).Where(b => !IsValidEntryArray(b));
        return Gen.OneOf(invalidUtf8, broken, control).Select(body => new Case("body", HttpMethod.Post, "v1/projects/good/sessions/bodies/entries", body));
    }

    // Project keys that always hold a forbidden part: traversal, slashes (raw or encoded), NUL, controls, '%', oversize.
    private static Gen<Case> BadProjectKeys()
    {
        var poison = Gen.Elements("..", "%2F", "%2f", "%5C", "%00", "%0A", "%25", "%2E%2E", "a..b", "%01", new string('k', 300), "%7F");
        var filler = Gen.Elements("a", "b", "-", "_", "0", "é").ArrayOf().Select(a => string.Concat(a));
        return Gen.Zip(Gen.Zip(filler, poison), filler).Select(t => t.Item1.Item1 + t.Item1.Item2 + t.Item2)
            .SelectMany(pk => Gen.Elements(
                new Case("projectKey", HttpMethod.Post, $"v1/projects/{pk}/sessions/s/entries", Encoding.UTF8.GetBytes($"[{Calls.Entry("pk")}]")),
                new Case("projectKey", HttpMethod.Get, $"v1/projects/{pk}/sessions", null),
                new Case("projectKey", HttpMethod.Get, $"v1/projects/{pk}/store/summaries", null),
                new Case("projectKey", HttpMethod.Post, $"v1/projects/{pk}/sessions/s/fork", "{}"u8.ToArray())));
    }

    // Subpaths that would escape their session or are malformed.
    private static Gen<Case> BadSubpaths()
    {
        var bad = Gen.Elements("..", "../x", "a/../../b", "/abs", "a//b", "a/", "/", "", "a\0b", "a\\..\\b", "%2e%2e/x", "a/./b", "x/" + new string('s', 600), "a/b/c/d/e/f/g/h/i/j", "a\nb", "%");
        return bad.SelectMany(sp => Gen.Elements(
            new Case("subpath", HttpMethod.Post, $"v1/projects/good/sessions/s/entries?subpath={Escape(sp)}", Encoding.UTF8.GetBytes($"[{Calls.Entry("sp")}]")),
            new Case("subpath", HttpMethod.Get, $"v1/projects/good/sessions/s/entries?subpath={Escape(sp)}", null),
            new Case("subpath", HttpMethod.Delete, $"v1/projects/good/sessions/kept?subpath={Escape(sp)}", null)));
    }

    // Session ids: oversized UUID-likes, traversal, controls; and unknown ids on read paths.
    private static Gen<Case> BadSessionIds()
    {
        var oversized = Gen.Choose(201, 400).Select(n => string.Concat(Enumerable.Repeat("0123abcd-", n / 9 + 1))[..n]);
        var bad = Gen.OneOf(oversized, Gen.Elements("..", "a%2Fb", "%00", "a%5Cb", "x%0Ay", "%25"));
        var unknown = Gen.Fresh(() => Guid.NewGuid().ToString());
        return Gen.OneOf(
            bad.Select(id => new Case("sessionId", HttpMethod.Post, $"v1/projects/good/sessions/{id}/entries", Encoding.UTF8.GetBytes($"[{Calls.Entry("id")}]"))),
            unknown.SelectMany(id => Gen.Elements(
                new Case("sessionId", HttpMethod.Get, $"v1/projects/good/sessions/{id}", null),
                new Case("sessionId", HttpMethod.Post, $"v1/projects/good/sessions/{id}/fork", "{}"u8.ToArray()),
                new Case("sessionId", HttpMethod.Post, $"v1/projects/good/sessions/{id}/rename", "{\"title\":\"x\"}"u8.ToArray()),
                new Case("sessionId", HttpMethod.Get, $"v1/projects/good/sessions/{id}/messages", null))),
            Gen.Elements(new Case("sessionId", HttpMethod.Post, "v1/projects/good/sessions/kept/fork", "{\"upToMessageId\":\"not-a-message\"}"u8.ToArray())));
    }

    // Entries over the tenant's 2000-byte limit, alone or after valid ones.
    private static Gen<Case> OversizedEntries() =>
        Gen.Zip(Gen.Choose(2001, 20_000), Gen.Choose(0, 3)).Select(t =>
            new Case("oversized", HttpMethod.Post, "v1/projects/good/sessions/big/entries",
                Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Range(0, t.Item2).Select(i => Calls.Entry($"ok{i}")).Append(Calls.Entry("huge", text: new string('x', t.Item1)))) + "]")));

    // Nesting deeper than the 256 levels a body may have.
    private static Gen<Case> DeepNesting() =>
        Gen.Zip(Gen.Choose(257, 3000), Gen.Elements("[", "{\"a\":")).Select(t =>
        {
            var close = t.Item2 == "[" ? "]" : "}";
            var body = "[{\"type\":\"user\",\"x\":" + string.Concat(Enumerable.Repeat(t.Item2, t.Item1)) + "1" + string.Concat(Enumerable.Repeat(close, t.Item1)) + "}]";
            return new Case("nesting", HttpMethod.Post, "v1/projects/good/sessions/deep/entries", Encoding.UTF8.GetBytes(body));
        });

    // Batches over the 10,000-entry limit.
    private static Gen<Case> HugeBatches() =>
        Gen.Choose(10_001, 10_050).Select(n => new Case("batch", HttpMethod.Post, "v1/projects/good/sessions/batch/entries",
            Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat("{\"type\":\"x\"}", n)) + "]")));

    private static bool IsValidEntryArray(byte[] body)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array
                && doc.RootElement.EnumerateArray().All(e => e.ValueKind == System.Text.Json.JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == System.Text.Json.JsonValueKind.String);
        }
        catch (System.Text.Json.JsonException)
        {
            return false;
        }
    }

    /// <summary>A body that arrives a few bytes at a time.</summary>
    private sealed class SlowStream(byte[] data) : MemoryStream(data)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(20, cancellationToken);
            return await base.ReadAsync(buffer[..Math.Min(buffer.Length, 3)], cancellationToken);
        }
    }
}
