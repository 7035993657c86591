using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Server.Auth;

/// <summary>
/// Per-tenant request rate limits (the tenant's <c>requestsPerMinute</c>, else the server default; none when unset),
/// with the token bucket of System.Threading.RateLimiting, one bucket per tenant and node. A refused request gets 429
/// with <c>Retry-After</c> and the limit in its problem-details body.
/// </summary>
internal sealed class TenantRateLimitMiddleware(RequestDelegate next, TenantService tenants, IProblemDetailsService problems)
{
    private readonly ConcurrentDictionary<(string Tenant, int PerMinute), TokenBucketRateLimiter> _buckets = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var tenant = context.User.FindFirst(SessionsClaims.Tenant)?.Value;
        if (tenant is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var perMinute = (await tenants.GetEffectiveLimitsAsync(tenant, context.RequestAborted).ConfigureAwait(false)).RequestsPerMinute;
        if (perMinute is not { } limit)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var bucket = _buckets.GetOrAdd((tenant, limit), k => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = k.PerMinute,
            TokensPerPeriod = k.PerMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        using var lease = bucket.AttemptAcquire();
        if (lease.IsAcquired)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = ((int)Math.Ceiling(Math.Max(1, retryAfter.TotalSeconds))).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var problem = new ProblemDetails
        {
            Status = 429,
            Title = "Too many requests",
            Detail = $"This tenant may send {limit} requests a minute to a node.",
            Type = "https://sessions.cluster/problems/rate_limited",
        };
        problem.Extensions["code"] = "rate_limited";
        problem.Extensions["limit"] = limit;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false);
    }
}
