using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Sessions.Cluster.Core.Telemetry;
using Sessions.Cluster.Server.Tests.Infrastructure;
using Sessions.Cluster.Storage.AzureBlob;

namespace Sessions.Cluster.Server.Tests;

/// <summary>On the keyed three-node cluster: key revocation on every node at once, and erasure down to the last byte.</summary>
[Trait("Category", "Integration")]
public sealed class KeyLifecycleAndErasureTests(KeyedClusterFixture cluster) : IClassFixture<KeyedClusterFixture>
{
    [Fact]
    public async Task RevokedKey_FailsAtOnceOnEveryNode()
    {
        var tenant = "k" + Guid.NewGuid().ToString("N")[..8];
        var admin = await Keys.IssueAsync(cluster.Nodes[0].Url, tenant, "read", "write", "admin");
        var key = await Keys.IssueAsync(cluster.Nodes[1].Url, tenant, "read");
        var clients = cluster.Nodes.Select(n => Keys.Client(n.Url, key)).ToList();
        foreach (var c in clients)
        {
            Assert.Equal(HttpStatusCode.OK, (await c.GetAsync("v1/projects/p/sessions")).StatusCode);
        }

        using var adminClient = Keys.Client(cluster.Nodes[2].Url, admin);
        var (_, list) = await Calls.SendAsync(adminClient, HttpMethod.Get, "v1/keys");
        var keyId = list!.AsArray().Single(k => k!["scopes"]!.AsArray().Count == 1)!["keyId"]!.GetValue<string>();
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(adminClient, HttpMethod.Delete, $"v1/keys/{keyId}")).Status);
        foreach (var c in clients)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await c.GetAsync("v1/projects/p/sessions")).StatusCode);
            c.Dispose();
        }
    }

    [Fact]
    public async Task TenantErasure_LeavesNoByteOfItsSessionsInBlobsOrPostgres_AndIsAudited()
    {
        var tenant = "e" + Guid.NewGuid().ToString("N")[..8];
        var keeper = "k" + Guid.NewGuid().ToString("N")[..8];
        var marker = "ERASE-ME-" + Guid.NewGuid().ToString("N");
        var key = await Keys.IssueAsync(cluster.BaseUrl, tenant, "read", "write", "admin");
        var keepKey = await Keys.IssueAsync(cluster.BaseUrl, keeper, "read", "write");
        using var http = Keys.Client(cluster.BaseUrl, key);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(http, HttpMethod.Post, $"v1/projects/p{i % 2}/sessions/s{i}/entries", $"[{Calls.Entry($"u{i}", text: $"{marker} {i}")}]")).Status);
            await Calls.SendAsync(http, HttpMethod.Post, $"v1/projects/p{i % 2}/sessions/s{i}/entries?subpath=subagents/agent-{i}", $"[{Calls.Entry($"x{i}", text: marker)}]");
        }

        var (_, fork) = await Calls.SendAsync(http, HttpMethod.Post, "v1/projects/p0/sessions/s0/fork", "{}");
        // Read through its grain: the fork's transcript is written (it is written right after the call in any case).
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"v1/projects/p0/sessions/{fork!["sessionId"]}/entries")).StatusCode);
        await Calls.SendAsync(http, HttpMethod.Put, "v1/projects/p0/sessions/s0/hold", $"{{\"reason\":\"{marker}\"}}");
        using (var put = new HttpRequestMessage(HttpMethod.Put, "v1/projects/p1/sessions/s1/summary") { Content = Calls.Json($"{{\"mtime\":1,\"data\":{{\"firstPrompt\":\"{marker}\"}}}}") })
        {
            put.Headers.TryAddWithoutValidation("If-Match", "\"0\"");
            (await http.SendAsync(put)).EnsureSuccessStatusCode();
        }

        // Read every session once, so their grains hold their logs, hot bytes and messages in memory.
        for (var i = 0; i < 5; i++)
        {
            Assert.Contains(marker, await http.GetStringAsync($"v1/projects/p{i % 2}/sessions/s{i}/messages"), StringComparison.Ordinal);
        }

        using var keep = Keys.Client(cluster.BaseUrl, keepKey);
        await Calls.SendAsync(keep, HttpMethod.Post, "v1/projects/p/sessions/kept/entries", $"[{Calls.Entry("k1", text: "keep me")}]");
        Assert.Contains(marker, await DumpBlobsAsync(tenant + "/"), StringComparison.Ordinal);
        Assert.Contains(marker, await DumpCatalogAsync(), StringComparison.Ordinal);

        using var op = Keys.Client(cluster.BaseUrl, Keys.Operator);
        var (status, erased) = await Calls.SendAsync(op, HttpMethod.Delete, $"v1/tenants/{tenant}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(6, erased!["erasedSessions"]!.GetValue<int>());

        Assert.Empty(await ListBlobsAsync(tenant + "/"));
        Assert.DoesNotContain(marker, await DumpBlobsAsync(""), StringComparison.Ordinal);
        Assert.DoesNotContain(marker, await DumpCatalogAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("v1/projects/p0/sessions")).StatusCode);
        Assert.Equal(6, await cluster.CountAsync($"SELECT count(*) FROM retention_audit WHERE tenant = '{tenant}' AND reason = 'erasure'"));
        Assert.Equal(0, await cluster.CountAsync($"SELECT count(*) FROM sessions WHERE tenant = '{tenant}'") + await cluster.CountAsync($"SELECT count(*) FROM api_keys WHERE tenant = '{tenant}'"));
        Assert.Equal(HttpStatusCode.OK, (await keep.GetAsync("v1/projects/p/sessions/kept/entries")).StatusCode);

        // A tenant of the same name made again finds nothing: no active grain answers the erased sessions from memory.
        using var again = Keys.Client(cluster.BaseUrl, await Keys.IssueAsync(cluster.BaseUrl, tenant, "read", "write"));
        for (var i = 0; i < 5; i++)
        {
            foreach (var read in new[] { "messages", "entries", "" })
            {
                using var answer = await again.GetAsync($"v1/projects/p{i % 2}/sessions/s{i}/{read}".TrimEnd('/'));
                Assert.True(answer.StatusCode == HttpStatusCode.NotFound, $"s{i}/{read}: {answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await Calls.SendAsync(op, HttpMethod.Delete, $"v1/tenants/{tenant}")).Status);
        Calls.AssertProblem(await Calls.SendAsync(op, HttpMethod.Delete, $"v1/tenants/{tenant}"), 404);
    }

    [Fact]
    public async Task SessionErasure_RemovesTranscriptSubpathsRowAndSidecar_EverywhereAndAuditsIt()
    {
        var tenant = "s" + Guid.NewGuid().ToString("N")[..8];
        var marker = "ONE-SESSION-" + Guid.NewGuid().ToString("N");
        using var http = Keys.Client(cluster.BaseUrl, await Keys.IssueAsync(cluster.BaseUrl, tenant, "read", "write", "admin"));
        await Calls.SendAsync(http, HttpMethod.Post, "v1/projects/p/sessions/gone/entries", $"[{Calls.Entry("g1", text: marker)}]");
        await Calls.SendAsync(http, HttpMethod.Post, "v1/projects/p/sessions/gone/entries?subpath=subagents/agent-1", $"[{Calls.Entry("g2", text: marker)}]");
        await Calls.SendAsync(http, HttpMethod.Post, "v1/projects/p/sessions/stays/entries", $"[{Calls.Entry("s1", text: "stays")}]");
        Assert.Equal(HttpStatusCode.NoContent, (await Calls.SendAsync(http, HttpMethod.Delete, "v1/projects/p/sessions/gone")).Status);
        Assert.Equal([$"{tenant}/p/stays.jsonl"], await ListBlobsAsync(tenant + "/"));
        Assert.DoesNotContain(marker, await DumpCatalogAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await cluster.CountAsync($"SELECT count(*) FROM retention_audit WHERE tenant = '{tenant}' AND session_id = 'gone' AND reason = 'erasure'"));
    }

    [Fact]
    public async Task ApiKeys_NeverAppearInLogsOrTraces()
    {
        var logs = new ConcurrentBag<string>();
        var spans = new ConcurrentBag<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => spans.Add(a.DisplayName + " " + string.Join(' ', a.TagObjects.Select(t => $"{t.Key}={t.Value}"))),
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = new LoggedKeyedServer(logs);
        await server.InitializeAsync();
        var key = await Keys.IssueAsync(server.BaseUrl, "logged", "read", "write");
        using var good = Keys.Client(server.BaseUrl, key);
        using var bad = Keys.Client(server.BaseUrl, key + "tampered");
        await Calls.SendAsync(good, HttpMethod.Post, "v1/projects/p/sessions/s/entries", $"[{Calls.Entry("1")}]");
        await Calls.SendAsync(good, HttpMethod.Post, "v1/projects/p/sessions/s/entries", "not json");
        await Calls.SendAsync(bad, HttpMethod.Get, "v1/projects/p/sessions");
        Assert.NotEmpty(logs);
        Assert.NotEmpty(spans);
        var secret = Keys.Secret(key);
        foreach (var text in logs.Concat(spans))
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Keys.Operator, text, StringComparison.Ordinal);
        }
    }

    private async Task<List<string>> ListBlobsAsync(string prefix)
    {
        var client = new BlobLogClient(new AzureBlobOptions { ConnectionString = cluster.Azurite.ConnectionString, Container = cluster.Container });
        var names = new List<string>();
        await foreach (var item in client.ListAsync(prefix, null, CancellationToken.None))
        {
            names.Add(item.Name);
        }

        return names;
    }

    // Every byte of every blob under the prefix, as text.
    private async Task<string> DumpBlobsAsync(string prefix)
    {
        var client = new BlobLogClient(new AzureBlobOptions { ConnectionString = cluster.Azurite.ConnectionString, Container = cluster.Container });
        var text = new StringBuilder();
        foreach (var name in await ListBlobsAsync(prefix))
        {
            var props = await client.GetPropertiesAsync(name, CancellationToken.None);
            text.Append(Encoding.UTF8.GetString(await client.ReadRangeAsync(name, 0, props!.Length, CancellationToken.None) ?? []));
        }

        return text.ToString();
    }

    // Every row of every catalog table, as text, read as the superuser (which row-level security does not hide).
    private async Task<string> DumpCatalogAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(cluster.PostgresConnectionString) { Username = "postgres" };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        var text = new StringBuilder();
        foreach (var table in new[] { "sessions", "summaries", "holds", "tenant_policies", "retention_audit", "tenants", "api_keys", "row_writers" })
        {
            await using var cmd = new NpgsqlCommand($"SELECT t::text FROM {table} t", connection);
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                text.AppendLine(reader.GetString(0));
            }
        }

        return text.ToString();
    }


    /// <summary>A keyed embedded server whose every log line (at Trace level) is captured.</summary>
    private sealed class LoggedKeyedServer(ConcurrentBag<string> logs) : ServerFixture
    {
        protected override IEnumerable<string> ExtraArguments => ["--Sessions:Auth:OperatorKey", Keys.Operator, "--Logging:LogLevel:Default", "Trace"];

        protected override void Configure(WebApplicationBuilder builder)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddFilter(_ => true);
            builder.Logging.AddProvider(new CapturingProvider(logs));
        }
    }

    private sealed class CapturingProvider(ConcurrentBag<string> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Capturing(logs, categoryName);

        public void Dispose()
        {
        }

        private sealed class Capturing(ConcurrentBag<string> logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                logs.Add($"{category} scope {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs.Add($"{category} {logLevel} {formatter(state, exception)} {exception}");
        }
    }
}
