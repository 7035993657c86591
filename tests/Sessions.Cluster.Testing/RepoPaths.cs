namespace Sessions.Cluster.Testing;

/// <summary>Where the repository, the shared fixtures and the SDK oracle are.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The real Claude Code transcripts (a CLAUDE_CONFIG_DIR): ../shared/fixtures/claude-code, or $SESSIONS_FIXTURES.</summary>
    public static string ClaudeFixtures
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("SESSIONS_FIXTURES") ?? Path.GetFullPath(Path.Combine(Root, "..", "shared", "fixtures", "claude-code"));
            return Directory.Exists(Path.Combine(dir, "projects"))
                ? dir
                : throw new InvalidOperationException($"The Claude Code fixtures are missing at {dir}: the repository expects ../shared/fixtures/claude-code beside it (or set SESSIONS_FIXTURES).");
        }
    }

    public static string OracleDir => Path.Combine(Root, "tests", "sdk-oracle");

    /// <summary>The npm package that pins the real servers the tests start (Azurite).</summary>
    public static string ServersDir => Path.Combine(Root, "tests", "servers");

    /// <summary>A writable copy of the fixtures (the SDK's forkSession writes next to the session).</summary>
    public static string CopyFixtures()
    {
        var target = TempDir("fixtures");
        CopyDirectory(ClaudeFixtures, target);
        return target;
    }

    public static string TempDir(string label)
    {
        var dir = Path.Combine(Path.GetTempPath(), "sessions-cluster-tests", $"{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }

        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            File.Copy(file, target, overwrite: true);
            File.SetAttributes(target, FileAttributes.Normal);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(file));
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Sessions.Cluster.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cannot find Sessions.Cluster.sln above the test binaries.");
    }
}
