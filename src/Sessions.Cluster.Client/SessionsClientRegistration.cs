using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Sessions.Cluster.Client;

/// <summary>
/// Registers <see cref="SessionsClient"/> in a service's container, the way .NET services take their HTTP clients: a typed
/// client from <see cref="IHttpClientFactory"/> (pooled handlers, the caller's traces and HTTP metrics), options bound and
/// checked at start, and a Microsoft.Extensions.Http.Resilience pipeline — retries with exponential backoff and jitter
/// honouring <c>Retry-After</c> on 408, 429, 5xx, timeouts and failed connections, a timeout per attempt, and the whole
/// call bounded by the client's timeout (attempt × (retries + 2)).
/// </summary>
/// <remarks>
/// A retry never writes twice and never answers differently from the first attempt: only requests that are safe to
/// repeat are retried — reads (GET, HEAD), a PUT that sets a value (not one with <c>If-Match</c>), and appends, which
/// carry an <c>Idempotency-Key</c> the server answers a repeat of with the first answer. A fork, a rename, a tag (POST
/// without a key), a delete and a sidecar's compare-and-swap are not retried.
/// </remarks>
public static class SessionsClientRegistration
{
    /// <summary>The configuration section <see cref="AddSessionsClient(IServiceCollection, string)"/> binds by default.</summary>
    public const string DefaultSection = "SessionsClient";

    /// <summary>The longest <see cref="SessionsClientOptions.Timeout"/> a registered client takes (12 hours).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(12);

    /// <summary>The <see cref="IHttpClientFactory"/> name of the client's HTTP client.</summary>
    public const string HttpClientName = "Sessions.Cluster";

    /// <summary>
    /// Registers <see cref="SessionsClient"/> with its options bound from the configuration section
    /// <paramref name="section"/> (<c>Url</c>, <c>ApiKey</c>, <c>Tenant</c>, <c>Timeout</c>).
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="section">The configuration section, e.g. <c>SessionsClient</c> (<c>Url</c>, <c>ApiKey</c>,
    /// <c>Tenant</c>, <c>Timeout</c>, <c>Retries</c>, <c>RetryDelay</c>).</param>
    /// <returns>The HTTP client's builder, to add handlers or change its resilience.</returns>
    /// <exception cref="OptionsValidationException">At start or first use: the URL is not absolute http(s), or a timeout, retry count or delay is out of range.</exception>
    public static IHttpClientBuilder AddSessionsClient(this IServiceCollection services, string section = DefaultSection)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<SessionsClientOptions>().BindConfiguration(section);
        return AddCore(services);
    }

    /// <summary>Registers <see cref="SessionsClient"/> with its options set by <paramref name="configure"/>.</summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Sets the options (URL, API key, tenant, timeout per attempt).</param>
    /// <returns>The HTTP client's builder, to add handlers or change its resilience.</returns>
    /// <exception cref="OptionsValidationException">At start or first use: the URL is not absolute http(s), or a timeout, retry count or delay is out of range.</exception>
    public static IHttpClientBuilder AddSessionsClient(this IServiceCollection services, Action<SessionsClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SessionsClientOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Adds a health check that the Sessions.Cluster server is ready (<see cref="SessionsClient.IsReadyAsync"/>): healthy when
    /// it is, unhealthy when it says it is not or cannot be reached. Needs <see cref="AddSessionsClient(IServiceCollection, string)"/>.
    /// </summary>
    /// <param name="builder">The health checks.</param>
    /// <param name="name">The check's name.</param>
    /// <param name="tags">Its tags (e.g. <c>ready</c>).</param>
    public static IHealthChecksBuilder AddSessionsServer(this IHealthChecksBuilder builder, string name = "sessions", params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddCheck<SessionsServerHealthCheck>(name, tags: tags);
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services)
    {
        services.AddOptions<SessionsClientOptions>()
            .Validate(o => o.Url is { IsAbsoluteUri: true } url && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps),
                "SessionsClientOptions.Url must be an absolute http or https URL.")
            .Validate(o => o.Timeout > TimeSpan.Zero && o.Timeout <= MaxTimeout, "SessionsClientOptions.Timeout must be positive and at most 12 hours.")
            .Validate(o => o.Retries is >= 1 and <= 10, "SessionsClientOptions.Retries must be 1 to 10.")
            .Validate(o => o.RetryDelay >= TimeSpan.Zero && o.RetryDelay <= TimeSpan.FromMinutes(1), "SessionsClientOptions.RetryDelay must be 0 to 1 minute.")
            .ValidateOnStart();
        // No per-request log lines from the factory (its "Start processing HTTP request" pair costs each call more than the
        // rest of the client): the requests are still in the caller's traces and HTTP metrics.
        var builder = services.AddHttpClient(HttpClientName).RemoveAllLoggers();
        builder.AddTypedClient((http, provider) =>
        {
            var options = provider.GetRequiredService<IOptions<SessionsClientOptions>>().Value;
            // The pipeline times each attempt; the HttpClient's own timeout bounds the whole call, retries included.
            var total = options.Timeout * (options.Retries + 2);
            return new SessionsClient(http, new SessionsClientOptions { Url = options.Url, ApiKey = options.ApiKey, Tenant = options.Tenant, Timeout = total < TimeSpan.FromDays(1) ? total : TimeSpan.FromDays(1) });
        });
        // Retries around a timeout per attempt: the parts of the standard pipeline this client needs (its rate limiter,
        // circuit breaker and second timeout cost each request more than the client's own work, measured).
        builder.AddResilienceHandler("sessions", (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<SessionsClientOptions>>().Value;
            var retry = new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.Retries,
                Delay = options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldRetryAfterHeader = true,
            };
            var transient = retry.ShouldHandle;
            retry.ShouldHandle = async args => IsRepeatable(args.Context.GetRequestMessage()) && await transient(args).ConfigureAwait(false);
            pipeline.AddRetry(retry).AddTimeout(options.Timeout);
        });
        return builder;
    }

    // Whether sending the request twice answers as sending it once does: reads, a PUT that sets a value (not a
    // compare-and-swap: after a lost answer its If-Match would no longer match), and calls with an Idempotency-Key. Not a
    // DELETE: after a lost answer the retry would report the deleted session as not found.
    private static bool IsRepeatable(HttpRequestMessage? request) =>
        request is not null && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head
            || (request.Method == HttpMethod.Put && !request.Headers.Contains("If-Match")) || request.Headers.Contains("Idempotency-Key"));
}

/// <summary>The Sessions.Cluster server is ready (see <see cref="SessionsClientRegistration.AddSessionsServer"/>).</summary>
/// <param name="client">The registered client.</param>
public sealed class SessionsServerHealthCheck(SessionsClient client) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await client.IsReadyAsync(cancellationToken).ConfigureAwait(false)
                ? HealthCheckResult.Healthy("The Sessions.Cluster server is ready.")
                : HealthCheckResult.Unhealthy("The Sessions.Cluster server is not ready (its storage or catalog does not answer).");
        }
        catch (Exception ex) when (ex is HttpRequestException or SessionsApiException or TaskCanceledException or Polly.Timeout.TimeoutRejectedException)
        {
            return HealthCheckResult.Unhealthy($"The Sessions.Cluster server cannot be reached: {ex.Message}", ex);
        }
    }
}
