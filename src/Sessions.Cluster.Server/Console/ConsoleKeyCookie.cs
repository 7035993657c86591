using Microsoft.AspNetCore.DataProtection;
using Sessions.Cluster.Grains;
using Sessions.Cluster.Server.Auth;

namespace Sessions.Cluster.Server.Console;

/// <summary>
/// The web console's cookies. Sign-in: the API key the user typed, a random sign-in id and the time of the sign-in,
/// encrypted with ASP.NET Core data protection (<c>HttpOnly</c>, <c>SameSite=Strict</c>, <c>Secure</c> over HTTPS). The
/// key is checked again on every request, so revoking it signs the browser out at once; a sign-in lasts at most
/// <see cref="AuthOptions.ConsoleSignInLifetime"/> from the moment it was made (checked on the server, whatever the
/// browser does with the cookie), and signing out ends it on the server (<see cref="IConsoleSignInGrain"/>), so a copy
/// of the cookie stops working as well.
/// </summary>
internal sealed class ConsoleKeyCookie(IDataProtectionProvider protection, IGrainFactory grains, AuthOptions auth, StoreClock clock)
{
    /// <summary>Name of the cookie.</summary>
    public const string Name = "sessions_console";

    /// <summary>Name of the cookie that carries a newly issued key to the one page that shows it.</summary>
    public const string IssuedName = "sessions_console_issued";

    /// <summary>Name of the cookie that carries an action's success notice to the page it redirects to.</summary>
    public const string NoticeName = "sessions_console_notice";

    private readonly IDataProtector _protector = protection.CreateProtector("Sessions.Cluster.Console.SignIn");

    private readonly ITimeLimitedDataProtector _issued = protection.CreateProtector("Sessions.Cluster.Console.IssuedKey").ToTimeLimitedDataProtector();

    private readonly ITimeLimitedDataProtector _notice = protection.CreateProtector("Sessions.Cluster.Console.Notice").ToTimeLimitedDataProtector();

    /// <summary>
    /// The signed-in key, or null when there is no cookie, it does not decrypt (another node's or an old key ring, or a
    /// cookie of an earlier version), its sign-in is older than the lifetime, or it was signed out.
    /// </summary>
    public async Task<string?> ReadAsync(HttpContext context)
    {
        if (Parse(context) is not { } signIn || signIn.Issued + auth.ConsoleSignInLifetime <= clock.Time.GetUtcNow())
        {
            return null;
        }

        return await grains.GetGrain<IConsoleSignInGrain>(signIn.Id).IsActive().ConfigureAwait(false) ? signIn.Key : null;
    }

    /// <summary>Signs the browser in with <paramref name="apiKey"/> for <see cref="AuthOptions.ConsoleSignInLifetime"/>.</summary>
    public void Write(HttpContext context, string apiKey)
    {
        var issued = clock.Time.GetUtcNow();
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var options = Options(context);
        options.Expires = issued + auth.ConsoleSignInLifetime;
        context.Response.Cookies.Append(Name, _protector.Protect($"{id}|{issued.ToUnixTimeSeconds()}|{apiKey}"), options);
    }

    /// <summary>Signs the browser out: the sign-in ends on the server (every copy of the cookie with it) and the cookie is deleted.</summary>
    public async Task SignOutAsync(HttpContext context)
    {
        if (Parse(context) is { } signIn)
        {
            await grains.GetGrain<IConsoleSignInGrain>(signIn.Id).End(signIn.Issued + auth.ConsoleSignInLifetime).ConfigureAwait(false);
        }

        context.Response.Cookies.Delete(Name, Options(context));
    }

    private (string Id, DateTimeOffset Issued, string Key)? Parse(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(Name, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        string text;
        try
        {
            text = _protector.Unprotect(value);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }

        var parts = text.Split('|', 3);
        return parts.Length == 3 && parts[0].Length == 32 && long.TryParse(parts[1], out var issued)
            ? (parts[0], DateTimeOffset.FromUnixTimeSeconds(issued), parts[2])
            : null;
    }

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

    /// <summary>
    /// Hands the success notice <paramref name="done"/> of an action to the page at <paramref name="path"/> it redirects
    /// to (encrypted, within a minute): a <c>?done=…</c> in a link someone else made shows nothing.
    /// </summary>
    public void PassNotice(HttpContext context, string path, string done) =>
        context.Response.Cookies.Append(NoticeName, _notice.Protect($"{PathString.FromUriComponent(path)}|{done}", TimeSpan.FromMinutes(1)), Options(context));

    /// <summary>
    /// <paramref name="done"/> when this page's request carries the notice <see cref="PassNotice"/> handed to it (the
    /// cookie is then deleted), otherwise null.
    /// </summary>
    public string? TakeNotice(HttpContext context, string? done)
    {
        if (string.IsNullOrEmpty(done) || !context.Request.Cookies.TryGetValue(NoticeName, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        context.Response.Cookies.Delete(NoticeName, Options(context));
        try
        {
            return _notice.Unprotect(value) == $"{context.Request.Path}|{done}" ? done : null;
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
