using System.CommandLine;
using System.Text.Json.Nodes;

namespace Sessions.Cluster.Cli.Commands;

/// <summary>
/// <c>sessions retention</c>: the tenant's <c>cleanupPeriodDays</c> (<c>show</c>, <c>set</c>), a dry run of what a sweep
/// would delete (<c>preview</c>), a sweep now (<c>sweep</c>) and the deletion audit (<c>audit</c>).
/// </summary>
internal static class RetentionCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("retention", "Retention of the tenant's sessions (cleanupPeriodDays)");

        var show = new Command("show", "Show the tenant's cleanupPeriodDays");
        show.SetAction((result, ct) => context.RunAsync(() => PrintAsync(context, result, HttpMethod.Get, "v1/admin/retention", null, ct)));
        command.Add(show);

        var days = new Argument<int>("days") { Description = "Days a session is kept after its last write (1..36500)" };
        var set = new Command("set", "Set the tenant's cleanupPeriodDays") { days };
        set.SetAction((result, ct) => context.RunAsync(() => PrintAsync(context, result, HttpMethod.Put, "v1/admin/retention", new { cleanupPeriodDays = result.GetValue(days) }, ct)));
        command.Add(set);

        var limit = new Option<int>("--limit") { Description = "Most sessions to list", DefaultValueFactory = _ => 1000 };
        var preview = new Command("preview", "Dry run: list the sessions a sweep would move to the trash now") { limit };
        preview.SetAction((result, ct) => context.RunAsync(async () =>
        {
            using var client = context.CreateClient(result);
            var answer = (await client.SendJsonAsync(HttpMethod.Get, $"v1/admin/retention/preview?limit={result.GetValue(limit)}", null, ct).ConfigureAwait(false))!;
            if (context.IsJson(result))
            {
                context.Out.WriteLine(answer.ToJsonString(CliContext.Json));
                return ExitCodes.Success;
            }

            var sessions = (JsonArray)answer["sessions"]!;
            context.Out.WriteLine($"cleanupPeriodDays {answer["cleanupPeriodDays"]}: {sessions.Count} session(s) last written before {DateTimeOffset.FromUnixTimeMilliseconds(answer["cutoff"]!.GetValue<long>()):u} would go to the trash");
            foreach (var s in sessions)
            {
                context.Out.WriteLine($"  {s!["projectKey"]}/{s["sessionId"]}  {DateTimeOffset.FromUnixTimeMilliseconds(s["lastModified"]!.GetValue<long>()):u}  {s["summary"]}");
            }

            return ExitCodes.Success;
        }));
        command.Add(preview);

        var sweep = new Command("sweep", "Move expired sessions to the trash and purge trash past its grace period now (the server also sweeps each period)");
        // A sweep works through the whole tenant before it answers (100,000 sessions: about a minute): no client timeout.
        sweep.SetAction((result, ct) => context.RunAsync(() => PrintAsync(context, result, HttpMethod.Post, "v1/admin/retention/sweep", null, ct, Timeout.InfiniteTimeSpan)));
        command.Add(sweep);

        var auditLimit = new Option<int>("--limit") { Description = "Most records to list", DefaultValueFactory = _ => 100 };
        var audit = new Command("audit", "List the retention and erasure audit records (retention, restore, purge, erasure), newest first") { auditLimit };
        audit.SetAction((result, ct) => context.RunAsync(() => PrintAsync(context, result, HttpMethod.Get, $"v1/admin/retention/audit?limit={result.GetValue(auditLimit)}", null, ct)));
        command.Add(audit);
        return command;
    }

    private static async Task<int> PrintAsync(CliContext context, ParseResult result, HttpMethod method, string path, object? body, CancellationToken ct, TimeSpan? timeout = null)
    {
        using var client = context.CreateClient(result, timeout: timeout);
        var answer = await client.SendJsonAsync(method, path, body, ct).ConfigureAwait(false);
        context.Out.WriteLine(answer?.ToJsonString(CliContext.Json) ?? "ok");
        return ExitCodes.Success;
    }
}
