using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Sessions.Cluster.Core;

namespace Sessions.Cluster.Server.Api;

/// <summary>
/// The one place that turns errors into RFC 7807 problem details with a stable <c>code</c> extension:
/// invalid input 400, oversized bodies 413, unknown sessions 404, concurrency conflicts 409 (with <c>expected</c> and
/// <c>actual</c>), storage outages 503 with <c>Retry-After</c>.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger, IEnumerable<Grains.OutageTranslator> outages) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        // A backend outage met on a path without its own mapping answers as the others do (503).
        exception = outages.Select(t => t(exception)).FirstOrDefault(e => e is not null) ?? exception;

        var (status, code, detail) = exception switch
        {
            NotFoundException e => (StatusCodes.Status404NotFound, e.Code, e.Message),
            ForbiddenException e => (StatusCodes.Status403Forbidden, e.Code, e.Message),
            LimitExceededException e => (e.Status, e.Code, e.Message),
            ConflictException e => (StatusCodes.Status409Conflict, e.Code, e.Message),
            StorageUnavailableException e => (StatusCodes.Status503ServiceUnavailable, e.Code, e.Message),
            ClusterUnavailableException e => (StatusCodes.Status503ServiceUnavailable, e.Code, e.Message),
            SessionsException e => (StatusCodes.Status400BadRequest, e.Code, e.Message),
            BadHttpRequestException e when e.StatusCode == StatusCodes.Status413PayloadTooLarge => (e.StatusCode, "body_too_large", e.Message),
            BadHttpRequestException e when e.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) => (e.StatusCode, "invalid_parameter", e.Message),
            BadHttpRequestException e => (e.StatusCode, "bad_request", e.Message),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested => (499, "client_closed", "The client closed the request."),
            _ => (StatusCodes.Status500InternalServerError, "internal_error", "An unexpected error occurred."),
        };
        if (status >= 500 && status != StatusCodes.Status503ServiceUnavailable)
        {
            LogUnexpected(logger, exception, httpContext.Request.Path);
        }

        var problem = new ProblemDetails { Status = status, Title = ApiErrors.TitleOf(status), Detail = detail, Type = $"https://sessions.cluster/problems/{code}" };
        problem.Extensions["code"] = code;
        if (exception is ConflictException conflict)
        {
            Core.Telemetry.SessionsTelemetry.Conflicts.Add(1, new KeyValuePair<string, object?>("code", conflict.Code));
            problem.Extensions["expected"] = conflict.Expected;
            problem.Extensions["actual"] = conflict.Actual;
            if (conflict.Current is { } current)
            {
                problem.Extensions["current"] = current;
            }
        }

        if (exception is LimitExceededException limit)
        {
            problem.Extensions["limit"] = limit.Limit;
            if (limit.Used is { } used)
            {
                problem.Extensions["used"] = used;
            }
        }

        if (exception is InvalidEntryException { Index: { } index })
        {
            problem.Extensions["index"] = index;
        }

        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "5";
        }
        else if (exception is LimitExceededException { Code: "server_busy" })
        {
            httpContext.Response.Headers.RetryAfter = "1";
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception }).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string path);
}
