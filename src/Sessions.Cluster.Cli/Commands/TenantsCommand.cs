using System.CommandLine;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions tenants create|list|show|limits|erase</c>: tenant management with the operator key
/// (<c>--api-key</c> or <c>SESSIONS_API_KEY</c>).
/// </summary>
internal static class TenantsCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("tenants", "Manage tenants (operator key)");
        var name = new Argument<string>("tenant") { Description = "Tenant name" };
        var maxSessions = new Option<long?>("--max-sessions") { Description = "Most sessions the tenant may hold" };
        var maxBytes = new Option<long?>("--max-bytes") { Description = "Most transcript bytes the tenant may hold" };
        var maxEntry = new Option<int?>("--max-entry-bytes") { Description = "Largest entry, bytes" };
        var rpm = new Option<int?>("--requests-per-minute") { Description = "Requests per minute per node" };
        object Limits(ParseResult r) => new { maxSessions = r.GetValue(maxSessions), maxBytes = r.GetValue(maxBytes), maxEntryBytes = r.GetValue(maxEntry), requestsPerMinute = r.GetValue(rpm) };

        var create = new Command("create", "Create a tenant") { name, maxSessions, maxBytes, maxEntry, rpm };
        create.SetAction((r, ct) => context.RunAsync(() => SendAsync(context, r, HttpMethod.Post, "v1/tenants", new { tenant = r.GetValue(name), limits = Limits(r) }, ct)));
        command.Add(create);

        var list = new Command("list", "List tenants");
        list.SetAction((r, ct) => context.RunAsync(() => SendAsync(context, r, HttpMethod.Get, "v1/tenants", null, ct)));
        command.Add(list);

        var showName = new Argument<string>("tenant") { Description = "Tenant name" };
        var show = new Command("show", "Show a tenant, its limits and usage") { showName };
        show.SetAction((r, ct) => context.RunAsync(() => SendAsync(context, r, HttpMethod.Get, $"v1/tenants/{Uri.EscapeDataString(r.GetValue(showName)!)}", null, ct)));
        command.Add(show);

        var limitsName = new Argument<string>("tenant") { Description = "Tenant name" };
        var limits = new Command("limits", "Replace a tenant's limits (omitted ones use the server default)") { limitsName, maxSessions, maxBytes, maxEntry, rpm };
        limits.SetAction((r, ct) => context.RunAsync(() => SendAsync(context, r, HttpMethod.Put, $"v1/tenants/{Uri.EscapeDataString(r.GetValue(limitsName)!)}/limits", Limits(r), ct)));
        command.Add(limits);

        var eraseName = new Argument<string>("tenant") { Description = "Tenant name" };
        var yes = new Option<bool>("--yes") { Description = "Confirm: this deletes every session of the tenant" };
        var erase = new Command("erase", "Erase a tenant everywhere (right to erasure)") { eraseName, yes };
        erase.SetAction((r, ct) => context.RunAsync(async () =>
        {
            if (!r.GetValue(yes))
            {
                throw new CliException(ExitCodes.InvalidInput, "Erasing a tenant deletes all its sessions for good; add --yes to confirm.");
            }

            return await SendAsync(context, r, HttpMethod.Delete, $"v1/tenants/{Uri.EscapeDataString(r.GetValue(eraseName)!)}", null, ct).ConfigureAwait(false);
        }));
        command.Add(erase);
        return command;
    }

    internal static async Task<int> SendAsync(CliContext context, ParseResult result, HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var client = context.CreateClient(result);
        var answer = await client.SendJsonAsync(method, path, body, ct).ConfigureAwait(false);
        context.Out.WriteLine(answer?.ToJsonString(CliContext.Json) ?? "ok");
        return ExitCodes.Success;
    }
}
