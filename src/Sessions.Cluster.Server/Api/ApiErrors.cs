namespace Sessions.Cluster.Server.Api;

/// <summary>Titles of the problem-details answers, by HTTP status.</summary>
internal static class ApiErrors
{
    public static string TitleOf(int status) => status switch
    {
        400 => "Invalid request",
        401 => "Unauthenticated",
        403 => "Forbidden",
        404 => "Not found",
        409 => "Conflict",
        413 => "Payload too large",
        429 => "Too many requests",
        503 => "Storage unavailable",
        _ => "Error",
    };
}
