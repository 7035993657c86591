using Microsoft.AspNetCore.DataProtection;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// The web console's cookies. Sign-in: the API key the user typed, encrypted with ASP.NET Core data protection into a
/// browser-session cookie (no expiry, <c>HttpOnly</c>, <c>SameSite=Strict</c>, <c>Secure</c> over HTTPS). The key is
/// checked again on every request, so revoking it signs the browser out at once.
/// </summary>
internal sealed class ConsoleKeyCookie(IDataProtectionProvider protection)
{
    /// <summary>Name of the cookie.</summary>
    public const string Name = "sessions_console";

    /// <summary>Name of the cookie that carries a newly issued key to the one page that shows it.</summary>
    public const string IssuedName = "sessions_console_issued";

    private readonly IDataProtector _protector = protection.CreateProtector("Sessions.Cluster.Console.ApiKey");

    private readonly ITimeLimitedDataProtector _issued = protection.CreateProtector("Sessions.Cluster.Console.IssuedKey").ToTimeLimitedDataProtector();

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

    /// <summary>
    /// Hands a newly issued key to the next page (post, redirect, get), which shows it once: a reload then neither shows
    /// it again nor issues another key. The cookie is encrypted and expires within a minute.
    /// </summary>
    public void PassIssued(HttpContext context, string apiKey) =>
        context.Response.Cookies.Append(IssuedName, _issued.Protect(apiKey, TimeSpan.FromMinutes(1)), Options(context));

    /// <summary>The key <see cref="PassIssued"/> handed over, once (the cookie is deleted), or null.</summary>
    public string? TakeIssued(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(IssuedName, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        context.Response.Cookies.Delete(IssuedName, Options(context));
        try
        {
            return _issued.Unprotect(value);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    private static CookieOptions Options(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = "/",
        IsEssential = true,
    };
}
