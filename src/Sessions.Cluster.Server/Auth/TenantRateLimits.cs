using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Server.Auth;

/// <summary>
/// Per-tenant request rate limits (the tenant's <c>requestsPerMinute</c>, else the server default; none when unset):
/// ASP.NET Core's rate-limiting middleware with a partitioned token bucket, one partition per tenant and limit on each
/// node. The partitioned limiter disposes a partition whose bucket has stayed full (idle) for a while, so tenants that
/// stop sending leave nothing behind. A refused request gets 429 <c>rate_limited</c> with <c>Retry-After</c> and the
/// limit in its problem-details body.
/// </summary>
internal static class TenantRateLimits
{
    private const string LimitItem = "Sessions.RequestsPerMinute";

    /// <summary>Registers the rate limiter (its partitions read the limit <see cref="UseTenantRateLimits"/> resolved).</summary>
    public static IServiceCollection AddTenantRateLimits(this IServiceCollection services) => services.AddRateLimiter(o =>
    {
        o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, (string Tenant, int PerMinute)>(context =>
            context.Items[LimitItem] is int perMinute && context.User.FindFirst(SessionsClaims.Tenant)?.Value is { } tenant
                ? RateLimitPartition.GetTokenBucketLimiter((Tenant: tenant, PerMinute: perMinute), static k => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = k.PerMinute,
                    TokensPerPeriod = k.PerMinute,
                    ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                })
                : RateLimitPartition.GetNoLimiter((string.Empty, 0)));
        o.OnRejected = RejectAsync;
    });

    /// <summary>
    /// Resolves the signed-in tenant's limit (an asynchronous look-up the limiter's partition function cannot make),
    /// then runs ASP.NET Core's rate limiter. Call after authentication.
    /// </summary>
    public static void UseTenantRateLimits(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.User.FindFirst(SessionsClaims.Tenant)?.Value is { } tenant)
            {
                var tenants = context.RequestServices.GetRequiredService<TenantService>();
                if ((await tenants.GetEffectiveLimitsAsync(tenant, context.RequestAborted).ConfigureAwait(false)).RequestsPerMinute is { } perMinute)
                {
                    context.Items[LimitItem] = perMinute;
                }
            }

            await next(context).ConfigureAwait(false);
        });
        app.UseRateLimiter();
    }

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var limit = context.Items[LimitItem] as int? ?? 0;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(60);
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
        await context.RequestServices.GetRequiredService<IProblemDetailsService>()
            .WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false);
    }
}
