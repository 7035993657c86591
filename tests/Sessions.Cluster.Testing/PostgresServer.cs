using System.Diagnostics;
using System.Globalization;

namespace Sessions.Cluster.Testing;

/// <summary>
/// A real PostgreSQL server (Debian package <c>postgresql</c>) started as a local process on a free loopback port over a
/// throw-away data folder (initdb, trust authentication, fsync off unless <see cref="Durable"/>). As root it runs as the
/// <c>postgres</c> user.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>
    /// True: PostgreSQL's defaults (fsync, synchronous commit, full page writes), for benchmarks that compare durable
    /// stores. False (tests): none of them, for speed.
    /// </summary>
    public bool Durable { get; init; }

    private readonly string _dataDir = RepoPaths.TempDir("postgres");
    private readonly string _binDir = FindBinDir();
    private readonly SemaphoreSlim _roleGate = new(1, 1);
    private bool _roleCreated;

    public int Port { get; } = LocalPorts.Free();

    /// <summary>The running server's postmaster process id (from its <c>postmaster.pid</c>).</summary>
    public int PostmasterPid => int.Parse(File.ReadLines(Path.Combine(_dataDir, "data", "postmaster.pid")).First(), CultureInfo.InvariantCulture);

    /// <summary>The folder of the PostgreSQL binaries the server runs from (psql, pg_ctl, …).</summary>
    public string BinDirectory => _binDir;

    /// <summary>Connection string of the <c>postgres</c> database as the <c>postgres</c> superuser.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    public string ConnectionStringFor(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=15";

    public static async Task<PostgresServer> StartNewAsync(bool durable = false)
    {
        var server = new PostgresServer { Durable = durable };
        await server.StartAsync().ConfigureAwait(false);
        return server;
    }

    public async Task StartAsync()
    {
        if (Environment.UserName == "root")
        {
            await RunAsync("chown", "-R", "postgres:postgres", _dataDir).ConfigureAwait(false);
        }

        var data = Path.Combine(_dataDir, "data");
        await RunPgAsync("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").ConfigureAwait(false);
        await ResumeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the server the way a service is stopped (fast shutdown: sessions are cut); its data stays for <see cref="ResumeAsync"/>.</summary>
    public Task StopAsync() => RunPgAsync("pg_ctl", "-D", Path.Combine(_dataDir, "data"), "-m", "fast", "-w", "stop");

    /// <summary>Starts a stopped server again on the same port and data.</summary>
    public Task ResumeAsync() => RunPgAsync("pg_ctl", "-D", Path.Combine(_dataDir, "data"), "-l", Path.Combine(_dataDir, "server.log"), "-w", "-t", "60", "-o",
        $"-p {Port.ToString(CultureInfo.InvariantCulture)} -k {_dataDir} -c listen_addresses=127.0.0.1 {(Durable ? "" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off ")}-c max_connections=300", "start");

    /// <summary>
    /// Creates a fresh database owned by the ordinary (non-superuser) role <c>sessions</c> and returns a connection
    /// string as that role, the way the catalog should connect in production (superusers bypass row-level security).
    /// Unless <paramref name="leakproofSearch"/> is false, the superuser then marks <c>ts_match_vq</c> leakproof in it,
    /// the database administrator's step the README asks for so content search uses its GIN index under row-level
    /// security.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string name, bool leakproofSearch = true)
    {
        var port = Port.ToString(CultureInfo.InvariantCulture);
        await _roleGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_roleCreated)
            {
                await RunPgAsync("createuser", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "--no-superuser", "--no-createdb", "--no-createrole", "sessions").ConfigureAwait(false);
                _roleCreated = true;
            }
        }
        finally
        {
            _roleGate.Release();
        }

        await RunPgAsync("createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-O", "sessions", name).ConfigureAwait(false);
        if (leakproofSearch)
        {
            await RunPgAsync("psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", name, "-v", "ON_ERROR_STOP=1", "-q", "-c", "ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF").ConfigureAwait(false);
        }

        return $"Host=127.0.0.1;Port={port};Username=sessions;Database={name};Pooling=true;Timeout=15";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunPgAsync("pg_ctl", "-D", Path.Combine(_dataDir, "data"), "-m", "immediate", "-w", "stop").ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
        }

        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindBinDir()
    {
        var candidates = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().ToList()
            : [];
        return candidates.FirstOrDefault()
            ?? throw new InvalidOperationException("PostgreSQL is not installed: the cluster tests start a real server. Install it with 'apt-get install -y postgresql' (Debian).");
    }

    private Task RunPgAsync(string tool, params string[] args)
    {
        var path = Path.Combine(_binDir, tool);
        return Environment.UserName == "root" ? RunAsync("runuser", ["-u", "postgres", "--", path, .. args]) : RunAsync(path, args);
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{file} did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
        }
    }
}
