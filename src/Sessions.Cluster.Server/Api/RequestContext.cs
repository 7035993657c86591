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

    /// <summary>Reads the whole request body, refusing more than <see cref="EntryLimits.MaxBatchBytes"/>.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, EntryLimits limits, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limits.MaxBatchBytes)
        {
            throw new BadHttpRequestException($"The body is larger than {limits.MaxBatchBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
        }

        if (request.ContentLength is { } length and > 0)
        {
            // The usual case (the client sent Content-Length): read straight into a buffer of that size.
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

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }

    /// <summary>Reads a small JSON object body into <typeparamref name="T"/>; an empty body gives a default instance.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : new()
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
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
