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
        var command = new Command("serve", "Run the Sessions.Cluster server") { urls, dataDir };
        command.SetAction(async (result, ct) =>
        {
            var app = SessionsServer.Build(["--urls", result.GetValue(urls)!, "--Sessions:DataDir", result.GetValue(dataDir)!]);
            await app.StartAsync(ct).ConfigureAwait(false);
            await app.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
