using System.Text.Json;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Api;

/// <summary>Helpers shared by the endpoint groups: tenant resolution and bounded body reading.</summary>
internal static class RequestContext
{
    /// <summary>
    /// The tenant the request acts for: the tenant of its API key (never anything in the request), or, on an open
    /// loopback server, the <c>X-Sessions-Tenant</c> header.
    /// </summary>
    /// <exception cref="ForbiddenException">The key has no tenant (the operator key acts on tenants only through /v1/tenants).</exception>
    public static string Tenant(HttpContext context)
    {
        var tenant = context.User.FindFirst(Auth.SessionsClaims.Tenant)?.Value
            ?? throw new ForbiddenException("no_tenant", "The operator key has no tenant: use a tenant's key for session data, and /v1/tenants to manage tenants.");
        KeyRules.ValidateTenant(tenant);
        return tenant;
    }

    /// <summary>Who is acting, for audit records: the key id (never the key).</summary>
    public static string Actor(HttpContext context) => context.User.FindFirst(Auth.SessionsClaims.KeyId)?.Value ?? "unknown";

    /// <summary>
    /// Reads the whole request body, refusing more than <paramref name="maxBytes"/> (default
    /// <see cref="EntryLimits.MaxBatchBytes"/>, 413 <c>body_too_large</c>) and reserving its size in the node's
    /// <see cref="BodyBudget"/> first (429 <c>server_busy</c> when the node holds too many bodies at once).
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, EntryLimits limits, CancellationToken cancellationToken, long? maxBytes = null)
    {
        var max = maxBytes ?? limits.MaxBatchBytes;
        if (request.ContentLength > max)
        {
            throw new BadHttpRequestException($"The body is {request.ContentLength} bytes; at most {max} are accepted here.", StatusCodes.Status413PayloadTooLarge);
        }

        var budget = request.HttpContext.RequestServices.GetRequiredService<BodyBudget>();
        if (request.ContentLength is { } length and > 0)
        {
            // The usual case (the client sent Content-Length): read straight into a buffer of that size.
            budget.Reserve(request.HttpContext, length);
            var body = new byte[length];
            try
            {
                await request.Body.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
            }
            catch (EndOfStreamException)
            {
                throw new BadHttpRequestException($"The body ended before its Content-Length of {length} bytes.", StatusCodes.Status400BadRequest);
            }

            return body;
        }

        // No Content-Length (chunked): reserve as the body grows, in steps of 1 MiB.
        const int Step = 1024 * 1024;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        long reserved = 0;
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw new BadHttpRequestException($"The body is larger than {max} bytes, the most accepted here.", StatusCodes.Status413PayloadTooLarge);
            }

            if (buffer.Length + read > reserved)
            {
                budget.Reserve(request.HttpContext, Step);
                reserved += Step;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a small JSON object body (at most <see cref="EntryLimits.MaxSmallBodyBytes"/>) into <typeparamref name="T"/>; an empty body gives a default instance.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : new()
    {
        var limits = request.HttpContext.RequestServices.GetRequiredService<EntryLimits>();
        using var buffer = new MemoryStream();
        buffer.Write((await ReadBodyAsync(request, limits, cancellationToken, EntryLimits.MaxSmallBodyBytes).ConfigureAwait(false)).Span);
        if (buffer.Length == 0)
        {
            return new T();
        }

        try
        {
            return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), JsonSerializerOptions.Web) ?? new T();
        }
        catch (JsonException ex)
        {
            throw new InvalidRequestException("invalid_json", $"The body is not valid JSON for this request: {ex.Message}");
        }
    }
}
