using System.Text.Json;
using System.Text.Json.Nodes;
using Sessions.Cluster.Hooks;

namespace Sessions.Cluster.Cli.Hooks;

/// <summary>
/// Our hook entries in a Claude Code <c>settings.json</c> (https://code.claude.com/docs/en/hooks, "Configuration":
/// <c>hooks</c> → event name → groups of <c>{ "matcher"?, "hooks": [{ "type": "command", "command", "timeout" (seconds),
/// "async" }] }</c>). Ours are the command hooks whose command carries <see cref="Marker"/>; installing replaces them,
/// uninstalling removes exactly them; every other setting and hook is kept. A file is backed up before it is changed
/// and written whole or not at all; a file that is not a JSON object is refused and left as it is.
/// </summary>
internal static class ClaudeSettings
{
    /// <summary>Ends the command of every hook entry we write (a shell comment), so ours are found again.</summary>
    public const string Marker = "#sessions-cluster-hook";

    /// <summary>Claude Code's own limit for our command, in seconds (the hook bounds itself to 2 s by default).</summary>
    public const int TimeoutSeconds = 10;

    /// <summary>
    /// Our hooks for <paramref name="command"/> (the program and its arguments, shell-quoted): one group per sync event.
    /// They run asynchronously (Claude Code does not wait for them), except <c>SessionEnd</c>, which is waited for so the
    /// last lines are pushed before Claude Code exits.
    /// </summary>
    public static JsonObject Hooks(string command)
    {
        var hooks = new JsonObject();
        foreach (var name in HookPayload.SyncEvents)
        {
            var entry = new JsonObject { ["type"] = "command", ["command"] = $"{command} {Marker}", ["timeout"] = TimeoutSeconds };
            if (name != "SessionEnd")
            {
                entry["async"] = true;
            }

            hooks[name] = new JsonArray(new JsonObject { ["hooks"] = new JsonArray(entry) });
        }

        return hooks;
    }

    /// <summary>Adds (or replaces) our hooks in the settings file at <paramref name="path"/>, creating it when missing.</summary>
    /// <returns>Whether the file changed, and the backup made of it (null when it did not exist or did not change).</returns>
    /// <exception cref="CliException">The file is not a JSON object, or its <c>hooks</c> is not shaped as Claude Code reads it.</exception>
    public static Task<(bool Changed, string? Backup)> InstallAsync(string path, string command, CancellationToken cancellationToken) =>
        ChangeAsync(path, root =>
        {
            RemoveOurs(root);
            var hooks = root["hooks"] as JsonObject ?? [];
            root["hooks"] = hooks;
            foreach (var (name, groups) in Hooks(command))
            {
                var list = hooks[name] as JsonArray ?? [];
                hooks[name] = list;
                foreach (var group in ((JsonArray)groups!).ToList())
                {
                    list.Add(group!.DeepClone());
                }
            }
        }, createMissing: true, cancellationToken);

    /// <summary>Removes our hooks from the settings file; a missing file is left missing.</summary>
    public static Task<(bool Changed, string? Backup)> UninstallAsync(string path, CancellationToken cancellationToken) =>
        ChangeAsync(path, RemoveOurs, createMissing: false, cancellationToken);

    /// <summary>The events our hooks are installed for in the file, with their commands; empty when none or no file.</summary>
    public static async Task<IReadOnlyList<(string Event, string Command)>> InstalledAsync(string path, CancellationToken cancellationToken)
    {
        var root = await ReadAsync(path, cancellationToken).ConfigureAwait(false);
        return root?["hooks"] is JsonObject hooks
            ? [.. from e in hooks where e.Value is JsonArray from g in (JsonArray)e.Value! from h in Commands(g) where h.Contains(Marker, StringComparison.Ordinal) select (e.Key, h)]
            : [];
    }

    private static IEnumerable<string> Commands(JsonNode? group) =>
        group?["hooks"] is JsonArray list ? list.Select(h => h?["command"] is JsonValue v && v.TryGetValue<string>(out var c) ? c : null).OfType<string>() : [];

    private static async Task<(bool Changed, string? Backup)> ChangeAsync(string path, Action<JsonObject> change, bool createMissing, CancellationToken cancellationToken)
    {
        var existed = File.Exists(path);
        if (!existed && !createMissing)
        {
            return (false, null);
        }

        var root = await ReadAsync(path, cancellationToken).ConfigureAwait(false) ?? [];
        var before = root.DeepClone();
        if (root["hooks"] is { } h && h is not JsonObject)
        {
            throw new CliException(ExitCodes.InvalidInput, $"{path}: \"hooks\" is not an object; it was left as it is.");
        }

        change(root);
        if (JsonNode.DeepEquals(before, root))
        {
            return (false, null);
        }

        string? backup = null;
        if (existed)
        {
            backup = $"{path}.bak-{DateTime.UtcNow:yyyyMMddTHHmmssfffZ}";
            File.Copy(path, backup);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await HookSync.WriteAtomicAsync(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", cancellationToken).ConfigureAwait(false);
        return (true, backup);
    }

    private static async Task<JsonObject?> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw new CliException(ExitCodes.InvalidInput, $"{path} does not hold a JSON object; it was left as it is.");
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.InvalidInput, $"{path} is not valid JSON ({ex.Message}); it was left as it is. Fix it, or name another file with --settings.");
        }
    }

    // Takes our command hooks out of every event; a group, an event list or a hooks object emptied by it goes too,
    // nothing else.
    private static void RemoveOurs(JsonObject root)
    {
        if (root["hooks"] is not JsonObject hooks)
        {
            return;
        }

        var any = false;
        foreach (var (name, value) in hooks.ToList())
        {
            if (value is not JsonArray groups)
            {
                continue;
            }

            var removed = false;
            foreach (var group in groups.ToList())
            {
                if (group?["hooks"] is not JsonArray list)
                {
                    continue;
                }

                var ours = list.Where(x => x?["command"] is JsonValue v && v.TryGetValue<string>(out var c) && c.Contains(Marker, StringComparison.Ordinal)).ToList();
                ours.ForEach(hook => list.Remove(hook));
                if (ours.Count > 0 && list.Count == 0)
                {
                    groups.Remove(group);
                }

                removed |= ours.Count > 0;
            }

            if (removed && groups.Count == 0)
            {
                hooks.Remove(name);
            }

            any |= removed;
        }

        if (any && hooks.Count == 0)
        {
            root.Remove("hooks");
        }
    }
}
