using System.Text.Json;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Storage;

namespace Sessions.Cluster.Server.Api;

/// <summary>Helpers shared by the endpoint groups: tenant resolution and bounded body reading.</summary>
internal static class RequestContext
{
    /// <summary>Header naming the tenant until API keys carry it (issue 5); absent = <see cref="DefaultTenant"/>.</summary>
    public const string TenantHeader = "X-Sessions-Tenant";

    /// <summary>Tenant of requests that name none.</summary>
    public const string DefaultTenant = "default";

    public static string Tenant(HttpContext context)
    {
        var tenant = context.Request.Headers[TenantHeader].ToString();
        tenant = string.IsNullOrEmpty(tenant) ? DefaultTenant : tenant;
        KeyRules.ValidateTenant(tenant);
        return tenant;
    }

    /// <summary>Reads the whole request body, refusing more than <see cref="EntryLimits.MaxBatchBytes"/>.</summary>
    public static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, EntryLimits limits, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limits.MaxBatchBytes)
        {
            throw new BadHttpRequestException($"The body is larger than {limits.MaxBatchBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
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
