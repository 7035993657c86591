using System.Globalization;
using System.Text;
using Sessions.Cluster.Client;
using Sessions.Cluster.Hooks;

namespace Sessions.Cluster.Cli;

/// <summary>
/// Brings transcripts from the server into a Claude Code config folder (<c>projects/&lt;projectKey&gt;/&lt;sessionId&gt;.jsonl</c>,
/// subagents under <c>&lt;sessionId&gt;/subagents/</c>), the way back of <see cref="TranscriptSync"/>.
/// </summary>
public static class TranscriptPull
{
    /// <summary>What a local file holds that the server's copy lacks (pull refuses to overwrite it).</summary>
    /// <param name="Path">The local file.</param>
    /// <param name="LocalOnlyLines">Lines of the file the server's copy does not have.</param>
    /// <param name="Pushable">True when the server's copy is a prefix of the file, so <c>push</c> would send those lines.</param>
    public sealed record LocalWork(string Path, int LocalOnlyLines, bool Pushable);

    /// <summary>
    /// Writes a session and its subpaths into <c>&lt;configDir&gt;/projects/&lt;projectKey&gt;/</c> exactly as Claude
    /// Code lays them out, byte for byte, so <c>claude --resume &lt;id&gt;</c> and the SDK find it there, and sets the
    /// transcript's mtime to the session's last activity (so <c>claude --continue</c> picks the same session). Local
    /// files holding lines the server lacks are never overwritten unless <paramref name="force"/>, which first copies
    /// each of them to <c>&lt;file&gt;.bak-&lt;utc time&gt;</c>.
    /// </summary>
    /// <returns>The files written and the backups made.</returns>
    /// <exception cref="CliException">A local file has lines the server lacks and <paramref name="force"/> is false (exit code
    /// <see cref="ExitCodes.Conflict"/>; the message names each file, its local-only lines and what to run); nothing was written.</exception>
    /// <param name="client">The server.</param>
    /// <param name="projectKey">The session's project key on the server.</param>
    /// <param name="sessionId">The session.</param>
    /// <param name="configDir">The Claude Code config folder.</param>
    /// <param name="force">Overwrite local lines the server lacks (after a backup).</param>
    /// <param name="cancellationToken">Cancels the pull.</param>
    /// <param name="localProjectKey">The project folder to write into when it is not <paramref name="projectKey"/>
    /// (a resume on a machine whose working directory has another path).</param>
    public static async Task<(List<string> Written, List<string> Backups)> PullAsync(SessionsClient client, string projectKey, string sessionId, string configDir, bool force, CancellationToken cancellationToken, string? localProjectKey = null)
    {
        var projectDir = Path.GetFullPath(Path.Combine(configDir, "projects", localProjectKey ?? projectKey));
        var main = await client.GetTranscriptAsync(projectKey, sessionId, null, cancellationToken).ConfigureAwait(false)
            ?? throw new CliException(ExitCodes.NotFound, $"Session '{sessionId}' was not found in project '{projectKey}'.");
        var info = await client.GetInfoAsync(projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        var files = new List<(string Path, byte[] Bytes)> { (Path.Combine(projectDir, sessionId + ".jsonl"), main) };
        var remoteSubpaths = await client.ListSubkeysAsync(projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        foreach (var subpath in remoteSubpaths)
        {
            var target = Path.GetFullPath(Path.Combine(projectDir, sessionId, subpath + ".jsonl"));
            if (!target.StartsWith(projectDir + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new CliException(ExitCodes.InvalidInput, $"The server sent a subpath that escapes the project folder: '{subpath}'.");
            }

            if (await client.GetTranscriptAsync(projectKey, sessionId, subpath, cancellationToken).ConfigureAwait(false) is { } bytes)
            {
                files.Add((target, bytes));
            }
        }

        // Everything local the server lacks: files the pull would overwrite, and local subagent files it has no copy of.
        var work = new List<LocalWork>();
        foreach (var (path, bytes) in files)
        {
            if (File.Exists(path) && LocalOnly(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), bytes) is { } w)
            {
                work.Add(w with { Path = path });
            }
        }

        foreach (var (subpath, path) in TranscriptSync.LocalSubpaths(projectDir, sessionId).Where(l => !remoteSubpaths.Contains(l.Subpath)))
        {
            if (LocalOnly(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false), []) is { } w)
            {
                work.Add(w with { Path = path });
            }
        }

        var backups = new List<string>();
        if (work.Count > 0 && !force)
        {
            throw new CliException(ExitCodes.Conflict, RefusalMessage(work, sessionId, configDir));
        }

        foreach (var w in work.Where(w => files.Any(f => f.Path == w.Path)))
        {
            var backup = $"{w.Path}.bak-{DateTime.UtcNow:yyyyMMddTHHmmssZ}";
            File.Copy(w.Path, backup, overwrite: false);
            backups.Add(backup);
        }

        var written = new List<string>();
        foreach (var (path, bytes) in files)
        {
            await WriteAtomicAsync(path, bytes, cancellationToken).ConfigureAwait(false);
            written.Add(path);
        }

        File.SetLastWriteTimeUtc(files[0].Path, DateTimeOffset.FromUnixTimeMilliseconds(info.LastModified).UtcDateTime);
        return (written, backups);
    }

    private static string RefusalMessage(List<LocalWork> work, string sessionId, string configDir)
    {
        var text = new StringBuilder($"Not pulled: local work on session {sessionId} was never pushed, and pulling would overwrite it.\n");
        foreach (var w in work)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {w.Path}: {w.LocalOnlyLines} line{(w.LocalOnlyLines == 1 ? "" : "s")} the server lacks");
            text.Append(w.Pushable ? "\n" : " (the server's copy differs earlier too: push cannot send them)\n");
        }

        text.Append(work.All(w => w.Pushable)
            ? $"Send them first with: sessions push {sessionId} --config-dir {configDir}\n"
            : "Keep what you need from these files first.\n");
        text.Append("Or replace the local files with the server's copy (each is kept as <file>.bak-<time>): add --force");
        return text.ToString();
    }

    // The lines of a local file the server's copy lacks, or null when the local file is a prefix of the server's
    // (nothing to lose). Pushable when the server's copy is a prefix of the local file.
    private static LocalWork? LocalOnly(byte[] local, byte[] remote)
    {
        var committed = Array.LastIndexOf(local, (byte)'\n') + 1;
        if (committed <= remote.Length && local.AsSpan(0, committed).SequenceEqual(remote.AsSpan(0, committed)))
        {
            return null;
        }

        // The common prefix in whole lines, then the non-blank lines after it.
        var same = local.AsSpan(0, committed).CommonPrefixLength(remote);
        var start = same == 0 ? 0 : local.AsSpan(0, same).LastIndexOf((byte)'\n') + 1;
        var count = 0;
        foreach (var line in Encoding.UTF8.GetString(local, start, committed - start).Split('\n'))
        {
            count += line.Trim().Length > 0 ? 1 : 0;
        }

        var pushable = remote.Length <= committed && local.AsSpan(0, remote.Length).SequenceEqual(remote);
        return count == 0 ? null : new LocalWork(string.Empty, count, pushable);
    }

    private static async Task WriteAtomicAsync(string path, byte[] bytes, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp-" + Environment.ProcessId;
        await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }
}
