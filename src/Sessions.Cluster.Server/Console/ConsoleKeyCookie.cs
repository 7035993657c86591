using Microsoft.AspNetCore.DataProtection;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// The web console's sign-in: the API key the user typed, encrypted with ASP.NET Core data protection into a
/// browser-session cookie (no expiry, <c>HttpOnly</c>, <c>SameSite=Strict</c>, <c>Secure</c> over HTTPS). The key is
/// checked again on every request, so revoking it signs the browser out at once.
/// </summary>
internal sealed class ConsoleKeyCookie(IDataProtectionProvider protection)
{
    /// <summary>Name of the cookie.</summary>
    public const string Name = "sessions_console";

    private readonly IDataProtector _protector = protection.CreateProtector("Sessions.Cluster.Console.ApiKey");

    /// <summary>The signed-in key, or null when there is no cookie or it does not decrypt (another node's or an old key ring).</summary>
    public string? Read(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(Name, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        try
        {
            return _protector.Unprotect(value);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Signs the browser in with <paramref name="apiKey"/> until it closes.</summary>
    public void Write(HttpContext context, string apiKey) =>
        context.Response.Cookies.Append(Name, _protector.Protect(apiKey), Options(context));

    /// <summary>Signs the browser out.</summary>
    public void Delete(HttpContext context) => context.Response.Cookies.Delete(Name, Options(context));

    private static CookieOptions Options(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = "/",
        IsEssential = true,
    };
}
