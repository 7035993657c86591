using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Sessions.Cluster.Client;

namespace Sessions.Cluster.Cli;

/// <summary>Options every verb shares (server URL, API key, tenant, output format) and the error-to-exit-code policy.</summary>
public sealed class CliContext(TextWriter output, TextWriter error, TextReader? input = null) : IDisposable
{
    private readonly List<ServiceProvider> _providers = [];

    /// <summary>JSON options for <c>--format json</c>.</summary>
    // Plain UTF-8 for scripts and people: quotes, apostrophes, accents and emoji as they are (no \u0027).
    public static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web)
    {
        WriteIndented = true,
        MaxDepth = Sessions.Cluster.Core.Storage.EntryLimits.MaxEnvelopeDepth,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; } = output;

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; } = error;

    /// <summary>Standard input (a hook's payload).</summary>
    public TextReader In { get; } = input ?? Console.In;

    /// <summary><c>--url</c> (env <c>SESSIONS_URL</c>).</summary>
    public Option<string?> Url { get; } = new("--url") { Description = $"Server URL (env {SessionsClientOptions.UrlVariable}; default {SessionsClientOptions.DefaultUrl})", Recursive = true };

    /// <summary><c>--api-key</c> (env <c>SESSIONS_API_KEY</c>).</summary>
    public Option<string?> ApiKey { get; } = new("--api-key") { Description = $"API key (env {SessionsClientOptions.ApiKeyVariable})", Recursive = true };

    /// <summary><c>--tenant</c> (env <c>SESSIONS_TENANT</c>).</summary>
    public Option<string?> Tenant { get; } = new("--tenant") { Description = $"Tenant (env {SessionsClientOptions.TenantVariable})", Recursive = true };

    /// <summary><c>--format table|json</c>.</summary>
    public Option<string> Format { get; } = CreateFormat();

    /// <summary>The options above, added to the root command.</summary>
    public IEnumerable<Option> GlobalOptions => [Url, ApiKey, Tenant, Format];

    /// <summary>True when <c>--format json</c> was given.</summary>
    public bool IsJson(ParseResult result) => result.GetValue(Format) == "json";

    /// <summary>
    /// A client configured from options, then environment variables, then defaults, registered as a service registers it
    /// (<see cref="SessionsClientRegistration.AddSessionsClient(IServiceCollection, Action{SessionsClientOptions})"/>:
    /// the same resilience), with one quick retry instead of a service's three with backoff: a person is waiting.
    /// </summary>
    /// <param name="result">The parsed command line.</param>
    /// <param name="apiKeyVariable">The environment variable holding the API key when <c>--api-key</c> is not given
    /// (default <c>SESSIONS_API_KEY</c>).</param>
    /// <param name="timeout">How long one request may take (default the client's 100 s; infinite — 12 hours — for a request
    /// that works through a whole tenant, which Ctrl+C still ends).</param>
    public SessionsClient CreateClient(ParseResult result, string? apiKeyVariable = null, TimeSpan? timeout = null)
    {
        var url = result.GetValue(Url) ?? Environment.GetEnvironmentVariable(SessionsClientOptions.UrlVariable) ?? SessionsClientOptions.DefaultUrl;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliException(ExitCodes.InvalidInput, $"'{url}' is not an absolute http or https URL.");
        }

        var services = new ServiceCollection();
        services.AddSessionsClient(o =>
        {
            o.Url = uri;
            o.ApiKey = result.GetValue(ApiKey) ?? Environment.GetEnvironmentVariable(apiKeyVariable ?? SessionsClientOptions.ApiKeyVariable);
            o.Tenant = result.GetValue(Tenant) ?? Environment.GetEnvironmentVariable(SessionsClientOptions.TenantVariable);
            o.Timeout = timeout is { } t && (t == System.Threading.Timeout.InfiniteTimeSpan || t > MaxAttempt) ? MaxAttempt : timeout ?? o.Timeout;
            o.Retries = 1;
            o.RetryDelay = TimeSpan.FromMilliseconds(250);
        });
        var provider = services.BuildServiceProvider();
        _providers.Add(provider);
        return provider.GetRequiredService<SessionsClient>();
    }

    // The longest a request may take.
    private static readonly TimeSpan MaxAttempt = SessionsClientRegistration.MaxTimeout;

    /// <summary>Disposes the clients' containers (their pooled connections).</summary>
    public void Dispose()
    {
        foreach (var provider in _providers)
        {
            provider.Dispose();
        }

        _providers.Clear();
    }

    /// <summary>Writes a value as indented JSON.</summary>
    public void WriteJson<T>(T value) => Out.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>Writes sessions as a table: id, last activity (UTC), project, tag, summary.</summary>
    public void WriteSessions(IEnumerable<Sessions.Cluster.Client.SessionInfo> sessions) =>
        WriteTable(["Session", "Modified (UTC)", "Project", "Tag", "Summary"], sessions.Select(s => new[]
        {
            s.SessionId, DateTimeOffset.FromUnixTimeMilliseconds(s.LastModified).ToString("u", System.Globalization.CultureInfo.InvariantCulture), s.ProjectKey, s.Tag ?? "", s.Summary,
        }));

    /// <summary>
    /// Writes rows as a table on a terminal (the first column, an id, never wraps), or as tab-separated lines when the
    /// output is piped or redirected, so ids stay whole for <c>cut</c>, <c>grep</c> and <c>xargs</c>.
    /// </summary>
    public void WriteTable(string[] headers, IEnumerable<string[]> rows)
    {
        if (!ReferenceEquals(Out, Console.Out) || Console.IsOutputRedirected)
        {
            Out.WriteLine(string.Join('\t', headers));
            foreach (var row in rows)
            {
                Out.WriteLine(string.Join('\t', row.Select(c => c.ReplaceLineEndings(" ").Replace('\t', ' '))));
            }

            return;
        }

        var table = new Spectre.Console.Table();
        for (var i = 0; i < headers.Length; i++)
        {
            table.AddColumn(new Spectre.Console.TableColumn(headers[i]) { NoWrap = i == 0 });
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(Spectre.Console.Markup.Escape).ToArray());
        }

        Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(Out) }).Write(table);
    }

    /// <summary>Runs a verb body, turning errors into a message on stderr and an exit code.</summary>
    public async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            await Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (SessionsApiException ex)
        {
            await Error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ex.Status switch
            {
                404 => ExitCodes.NotFound,
                409 => ExitCodes.Conflict,
                >= 400 and < 500 => ExitCodes.InvalidInput,
                _ => ExitCodes.Unavailable,
            };
        }
        catch (HttpRequestException ex) when (ex.InnerException is SocketException || ex.HttpRequestError == HttpRequestError.ConnectionError)
        {
            await Error.WriteLineAsync($"error: cannot reach the server: {ex.Message}. Start one with 'sessions serve' or set --url / {SessionsClientOptions.UrlVariable}.").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
        catch (Polly.Timeout.TimeoutRejectedException ex)
        {
            await Error.WriteLineAsync($"error: the server did not answer in time ({ex.Timeout.TotalSeconds:0.#} s).").ConfigureAwait(false);
            return ExitCodes.Unavailable;
        }
    }

    /// <summary>A client plus the session a verb acts on, its project key resolved (see <see cref="ResolveProjectAsync"/>).</summary>
    public async Task<SessionTarget> OpenSessionAsync(ParseResult result, Argument<string> sessionId, Option<string?> projectKey, CancellationToken cancellationToken)
    {
        var client = CreateClient(result);
        try
        {
            var id = result.GetValue(sessionId)!;
            return new SessionTarget(client, id, await ResolveProjectAsync(client, id, result.GetValue(projectKey), cancellationToken).ConfigureAwait(false));
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The project key of a session: <paramref name="projectKey"/> when given, else looked up by id across projects.
    /// </summary>
    public static async Task<string> ResolveProjectAsync(SessionsClient client, string sessionId, string? projectKey, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(projectKey))
        {
            return projectKey;
        }

        var found = await client.FindAsync(sessionId, cancellationToken).ConfigureAwait(false);
        return found.Count switch
        {
            0 => throw new CliException(ExitCodes.NotFound, $"Session '{sessionId}' was not found."),
            1 => found[0].ProjectKey,
            _ => throw new CliException(ExitCodes.InvalidInput, $"Session '{sessionId}' exists in several projects ({string.Join(", ", found.Select(f => f.ProjectKey))}); pass --project."),
        };
    }

    private static Option<string> CreateFormat()
    {
        var format = new Option<string>("--format") { Description = "Output format: table or json", DefaultValueFactory = _ => "table", Recursive = true };
        format.AcceptOnlyFromAmong("table", "json");
        return format;
    }
}

/// <summary>The session a verb acts on, with the client that reaches it; disposing it disposes the client.</summary>
public sealed record SessionTarget(SessionsClient Client, string SessionId, string ProjectKey) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Client.Dispose();
}

/// <summary>An error the CLI reports with a message and a specific exit code.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    /// <summary>The exit code to return.</summary>
    public int ExitCode { get; } = exitCode;
}
