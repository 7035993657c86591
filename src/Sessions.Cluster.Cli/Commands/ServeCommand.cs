using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Sessions.Cluster.Server;

namespace Sessions.Cluster.Cli.Commands;

/// <summary><c>sessions serve</c>: runs the server (embedded default: files and SQLite under --data-dir).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Listen address", DefaultValueFactory = _ => SessionsServer.DefaultUrl };
        var dataDir = new Option<string>("--data-dir") { Description = "Data folder for transcripts and the catalog", DefaultValueFactory = _ => ".data" };
        var command = new Command("serve", "Run the Sessions.Cluster server. Every configuration key of the README is accepted as " +
            "--Sessions:<Key> <value> (e.g. --Sessions:Mode cluster --Sessions:Postgres:ConnectionString \"Host=…\", " +
            "--Sessions:Retention:DefaultDays 14) or as the environment variable Sessions__<Key> (Sessions__Mode=cluster).")
        {
            urls, dataDir,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, ct) =>
        {
            // Configuration keys pass through as they are; a token that is not --Section:Key value is an error.
            var passThrough = result.UnmatchedTokens.ToList();
            if (passThrough.FirstOrDefault(t => t.StartsWith('-') && !t.Contains(':', StringComparison.Ordinal)) is { } unknown)
            {
                await Console.Error.WriteLineAsync($"Unknown option '{unknown}' for serve: configuration keys are written --Sessions:<Key> <value> (see sessions serve --help).").ConfigureAwait(false);
                return ExitCodes.InvalidInput;
            }

            // Disposed once stopped, as WebApplication.RunAsync does: the transcript store checkpoints its journal then.
            await using var app = SessionsServer.Build(["--urls", result.GetValue(urls)!, "--Sessions:DataDir", result.GetValue(dataDir)!, .. passThrough]);
            await app.StartAsync(ct).ConfigureAwait(false);
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
