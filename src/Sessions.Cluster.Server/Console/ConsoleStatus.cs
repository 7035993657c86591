using Microsoft.AspNetCore.Diagnostics;

namespace Sessions.Cluster.Server.Console;

/// <summary>Sets the status of a console page that shows its own error.</summary>
internal static class ConsoleStatus
{
    /// <summary>
    /// Answers <paramref name="status"/> with the page as the body. The status is set as the response starts: the
    /// component renderer writes no body for a 404 it sees before rendering (it leaves those to a not-found page), and the
    /// API's status-code pages would write a problem-details body instead of the page.
    /// </summary>
    public static void Set(HttpContext context, int status)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return;
        }

        if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }

        response.OnStarting(() =>
        {
            response.StatusCode = status;
            return Task.CompletedTask;
        });
    }
}
