using System.Diagnostics;
using Sessions.Cluster.Core.Telemetry;

namespace Sessions.Cluster.Server;

/// <summary>
/// A server span and the <c>sessions.requests</c> / <c>sessions.request.duration</c> measurements for every request,
/// tagged with the route pattern (never the concrete path, so keys and ids stay out of metric labels) and the final
/// status. Installed first, so it sees the status the exception handler sets.
/// </summary>
internal sealed class RequestTelemetryMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        using var activity = SessionsTelemetry.ActivitySource.StartActivity("HTTP " + context.Request.Method, ActivityKind.Server);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            var operation = $"{context.Request.Method} {route}";
            var status = context.Response.StatusCode;
            if (activity is not null)
            {
                activity.DisplayName = operation;
                activity.SetTag("http.request.method", context.Request.Method);
                activity.SetTag("http.route", route);
                activity.SetTag("http.response.status_code", status);
                if (status >= 500)
                {
                    activity.SetStatus(ActivityStatusCode.Error);
                }
            }

            var tags = new TagList { { "operation", operation }, { "status", status } };
            SessionsTelemetry.Requests.Add(1, tags);
            SessionsTelemetry.RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }
}
