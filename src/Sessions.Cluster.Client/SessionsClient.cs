using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Sessions.Cluster.Client;

/// <summary>
/// A thin typed client for the Sessions.Cluster HTTP API. Every method throws <see cref="SessionsApiException"/>
/// with the server's problem-details code on an error answer.
/// </summary>
public sealed class SessionsClient : IDisposable
{
    /// <summary>
    /// Deepest JSON nesting of an answer the client reads: 264, the server's limit on an entry (256 levels) plus its
    /// envelope (<c>EntryLimits.MaxEnvelopeDepth</c>), so every entry the server accepted can be read back.
    /// </summary>
    public const int MaxAnswerDepth = 264;

    private static readonly JsonDocumentOptions AnswerDocument = new() { MaxDepth = MaxAnswerDepth };

    // Every answer and request body the client reads or writes is source-generated (ClientJsonContext), so the client
    // needs no reflection and runs compiled ahead of time (the native sessions-hook).
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        MaxDepth = MaxAnswerDepth,
        TypeInfoResolver = ClientJsonContext.Default,
    };

    private static JsonSerializerOptions? _reflectionJson;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a client with its own <see cref="HttpClient"/>.</summary>
    public SessionsClient(SessionsClientOptions options)
        : this(new HttpClient(), options, ownsHttp: true)
    {
    }

    /// <summary>Creates a client over a caller-owned <see cref="HttpClient"/>.</summary>
    public SessionsClient(HttpClient http, SessionsClientOptions options, bool ownsHttp = false)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _ownsHttp = ownsHttp;
        // A base address without a trailing slash would lose its last path segment ("http://host/prefix" + "v1/…"
        // is "http://host/v1/…"): the server's base is a folder, with or without the slash.
        _http.BaseAddress = options.Url.AbsolutePath.EndsWith('/') ? options.Url : new UriBuilder(options.Url) { Path = options.Url.AbsolutePath + "/" }.Uri;
        _http.Timeout = options.Timeout;
        if (options.ApiKey is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (options.Tenant is { Length: > 0 } tenant)
        {
            _http.DefaultRequestHeaders.Add("X-Sessions-Tenant", tenant);
        }
    }

    /// <summary>
    /// Appends raw JSONL lines (each one JSON object) to a transcript or subpath. The lines are sent verbatim, so the
    /// stored bytes equal them. With <paramref name="expectedLength"/> the append fails with 409 unless the
    /// transcript has exactly that length. Each call carries a fresh <c>Idempotency-Key</c> (a caller retrying the
    /// same call through <paramref name="idempotencyKey"/> writes nothing twice); <paramref name="lastActivity"/>
    /// (Unix epoch ms) keeps an imported file's last activity.
    /// </summary>
    public async Task<AppendResult> AppendLinesAsync(string projectKey, string sessionId, string? subpath, IReadOnlyList<string> lines, long? expectedLength, CancellationToken cancellationToken, long? lastActivity = null, string? idempotencyKey = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        // The JSON array of the lines, encoded once straight into the request's bytes.
        var size = 2 + Math.Max(0, lines.Count - 1);
        foreach (var line in lines)
        {
            size += Encoding.UTF8.GetByteCount(line);
        }

        var body = new byte[size];
        var at = 0;
        body[at++] = (byte)'[';
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                body[at++] = (byte)',';
            }

            at += Encoding.UTF8.GetBytes(lines[i], body.AsSpan(at));
        }

        body[at] = (byte)']';
        var url = $"{SessionPath(projectKey, sessionId)}/entries{Query(("subpath", subpath), ("expectedLength", expectedLength?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("lastActivity", lastActivity?.ToString(System.Globalization.CultureInfo.InvariantCulture)))}";
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.Add("Idempotency-Key", idempotencyKey ?? Guid.NewGuid().ToString("N"));
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<AppendResult>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The raw JSONL bytes of a transcript or subpath, or null when it does not exist.</summary>
    public async Task<byte[]?> GetTranscriptAsync(string projectKey, string sessionId, string? subpath, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"{SessionPath(projectKey, sessionId)}/transcript{Query(("subpath", subpath))}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Subpaths of a session (SessionStore <c>listSubkeys</c>).</summary>
    public async Task<List<string>> ListSubkeysAsync(string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"{SessionPath(projectKey, sessionId)}/subkeys", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<string>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A page of a project's sessions, newest first.</summary>
    public async Task<SessionList> ListAsync(string projectKey, int limit, string? cursor, string? tag, string? text, CancellationToken cancellationToken)
    {
        var url = $"v1/projects/{Uri.EscapeDataString(projectKey)}/sessions{Query(("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", cursor), ("tag", tag), ("q", text))}";
        using var response = await _http.GetAsync(url, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<SessionList>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sessions with this id in any project key (usually one; empty when unknown).</summary>
    public async Task<List<SessionInfo>> FindAsync(string sessionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"v1/sessions/{Uri.EscapeDataString(sessionId)}", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<SessionInfo>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sessions of every project whose title, summary, first prompt or tag contains <paramref name="text"/>, or whose id starts with it.</summary>
    public async Task<SessionList> SearchAsync(string text, int limit, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"v1/sessions{Query(("q", text), ("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)))}", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<SessionList>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Content search (what was said): sessions whose messages match <paramref name="text"/> (words, "a phrase",
    /// -excluded, a OR b), most relevant first, of one project when <paramref name="projectKey"/> is given.
    /// </summary>
    public async Task<SearchResults> SearchContentAsync(string text, string? projectKey, int limit, string? cursor, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"v1/search{Query(("q", text), ("project", projectKey), ("limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", cursor))}", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<SearchResults>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The tenant's projects with session counts, last activity and cwd, most recently active first.</summary>
    public async Task<List<ProjectSummary>> ListProjectsAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("v1/projects", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<ProjectSummary>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Subagent ids of a session (the SDK's <c>listSubagents</c>).</summary>
    public async Task<List<string>> ListSubagentsAsync(string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"{SessionPath(projectKey, sessionId)}/subagents", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<string>>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Messages of one subagent (the SDK's <c>getSubagentMessages</c>) as raw JSON objects.</summary>
    public async Task<JsonArray> GetSubagentMessagesAsync(string projectKey, string sessionId, string agentId, int? limit, int? offset, CancellationToken cancellationToken)
    {
        var url = $"{SessionPath(projectKey, sessionId)}/subagents/{Uri.EscapeDataString(agentId)}/messages{Query(("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("offset", offset?.ToString(System.Globalization.CultureInfo.InvariantCulture)))}";
        using var response = await _http.GetAsync(url, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<JsonArray>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Info of one session (the SDK's <c>getSessionInfo</c>).</summary>
    public async Task<SessionInfo> GetInfoAsync(string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(SessionPath(projectKey, sessionId), cancellationToken).ConfigureAwait(false);
        return await ReadAsync<SessionInfo>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The most recent session of a project ("continue").</summary>
    public async Task<SessionInfo> GetLatestAsync(string projectKey, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync($"v1/projects/{Uri.EscapeDataString(projectKey)}/sessions/latest", cancellationToken).ConfigureAwait(false);
        return await ReadAsync<SessionInfo>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Messages of the live chain (the SDK's <c>getSessionMessages</c>) as raw JSON objects.</summary>
    public async Task<JsonArray> GetMessagesAsync(string projectKey, string sessionId, int? limit, int? offset, CancellationToken cancellationToken)
    {
        var url = $"{SessionPath(projectKey, sessionId)}/messages{Query(("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("offset", offset?.ToString(System.Globalization.CultureInfo.InvariantCulture)))}";
        using var response = await _http.GetAsync(url, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<JsonArray>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forks a session (the SDK's <c>forkSession</c>); returns the new session id.</summary>
    public async Task<string> ForkAsync(string projectKey, string sessionId, string? upToMessageId, string? title, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"{SessionPath(projectKey, sessionId)}/fork", Body(new JsonObject { ["upToMessageId"] = upToMessageId, ["title"] = title }), cancellationToken).ConfigureAwait(false);
        var result = await ReadAsync<JsonObject>(response, cancellationToken).ConfigureAwait(false);
        return result["sessionId"]!.GetValue<string>();
    }

    /// <summary>Renames a session (appends a custom-title entry).</summary>
    public async Task RenameAsync(string projectKey, string sessionId, string title, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"{SessionPath(projectKey, sessionId)}/rename", Body(new JsonObject { ["title"] = title }), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Tags a session; null clears the tag.</summary>
    public async Task TagAsync(string projectKey, string sessionId, string? tag, CancellationToken cancellationToken)
    {
        using var response = await _http.PostAsync($"{SessionPath(projectKey, sessionId)}/tag", Body(new JsonObject { ["tag"] = tag }), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes a session with its subpaths, catalog row and sidecar.</summary>
    public async Task DeleteAsync(string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        using var response = await _http.DeleteAsync(SessionPath(projectKey, sessionId), cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends a request with an optional JSON body (any object, serialized by reflection with the web defaults) and returns
    /// the JSON answer (null for 204).
    /// </summary>
    [RequiresUnreferencedCode("Serializes the body by reflection; pass a JsonNode to the other overload in trimmed or native programs.")]
    [RequiresDynamicCode("Serializes the body by reflection; pass a JsonNode to the other overload in trimmed or native programs.")]
    public Task<JsonNode?> SendJsonAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken) =>
        SendJsonAsync(method, path, body is null ? null : JsonSerializer.SerializeToNode(body, ReflectionJson()), cancellationToken);

    /// <summary>Sends a request with an optional JSON body and returns the JSON answer (null for 204).</summary>
    public async Task<JsonNode?> SendJsonAsync(HttpMethod method, string path, JsonNode? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = Body(body);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return text.Length == 0 ? null : JsonNode.Parse(text, documentOptions: AnswerDocument);
    }

    /// <summary>
    /// Whether the server is ready for requests (<c>GET /health/ready</c>: its storage and catalog answer): true on 200,
    /// false on 503; any other answer throws.
    /// </summary>
    /// <exception cref="HttpRequestException">The server cannot be reached.</exception>
    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("health/ready", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
        {
            return false;
        }

        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Places a hold on a session (retention never deletes it), or releases it.</summary>
    public Task SetHoldAsync(string projectKey, string sessionId, bool hold, string? reason, CancellationToken cancellationToken) =>
        SendJsonAsync(hold ? HttpMethod.Put : HttpMethod.Delete, $"{SessionPath(projectKey, sessionId)}/hold", hold ? new JsonObject { ["reason"] = reason } : null, cancellationToken);

    private static StringContent Body(JsonNode body) => new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    [RequiresUnreferencedCode("Reflection-based serialization.")]
    [RequiresDynamicCode("Reflection-based serialization.")]
    private static JsonSerializerOptions ReflectionJson() =>
        _reflectionJson ??= new JsonSerializerOptions(JsonSerializerDefaults.Web) { MaxDepth = MaxAnswerDepth, TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver() };

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static string SessionPath(string projectKey, string sessionId) =>
        $"v1/projects/{Uri.EscapeDataString(projectKey)}/sessions/{Uri.EscapeDataString(sessionId)}";

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var parts = parameters.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync((JsonTypeInfo<T>)Json.GetTypeInfo(typeof(T)), cancellationToken).ConfigureAwait(false)
            ?? throw new SessionsApiException((int)response.StatusCode, "empty_response", "The server sent an empty answer.");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string code = "http_" + (int)response.StatusCode, detail = text;
        long? limit = null;
        try
        {
            if (JsonNode.Parse(text, documentOptions: AnswerDocument) is JsonObject problem)
            {
                code = problem["code"]?.GetValue<string>() ?? code;
                detail = problem["detail"]?.GetValue<string>() ?? problem["title"]?.GetValue<string>() ?? text;
                limit = problem["limit"] is JsonValue l && l.TryGetValue<long>(out var value) ? value : null;
            }
        }
        catch (JsonException)
        {
        }

        throw SessionsApiException.For((int)response.StatusCode, code, $"{(int)response.StatusCode} {code}: {detail}", limit);
    }
}
