using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions keys create|list|revoke</c>: API keys of the caller's tenant (an admin key), or of <c>--tenant</c> with the
/// operator key. A new key is printed once and never again.
/// </summary>
internal static class KeysCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("keys", "Issue, list and revoke API keys");
        string Base(ParseResult r) => r.GetValue(context.Tenant) is { Length: > 0 } t ? $"v1/tenants/{Uri.EscapeDataString(t)}/keys" : "v1/keys";

        var scopes = new Option<string>("--scopes") { Description = "Comma-separated scopes: read, write, admin", DefaultValueFactory = _ => "read,write" };
        var label = new Option<string?>("--label") { Description = "A note to recognise the key" };
        var create = new Command("create", "Issue a key (printed once)") { scopes, label };
        create.SetAction((r, ct) => context.RunAsync(() => TenantsCommand.SendAsync(context, r, HttpMethod.Post, Base(r),
            new { scopes = r.GetValue(scopes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), label = r.GetValue(label) }, ct)));
        command.Add(create);

        var list = new Command("list", "List keys (ids, scopes, labels; never secrets)");
        list.SetAction((r, ct) => context.RunAsync(() => TenantsCommand.SendAsync(context, r, HttpMethod.Get, Base(r), null, ct)));
        command.Add(list);

        var keyId = new Argument<string>("keyId") { Description = "The key's id (the part after sc_)" };
        var revoke = new Command("revoke", "Revoke a key at once, on every node") { keyId };
        revoke.SetAction((r, ct) => context.RunAsync(() => TenantsCommand.SendAsync(context, r, HttpMethod.Delete, $"{Base(r)}/{Uri.EscapeDataString(r.GetValue(keyId)!)}", null, ct)));
        command.Add(revoke);
        return command;
    }
}
