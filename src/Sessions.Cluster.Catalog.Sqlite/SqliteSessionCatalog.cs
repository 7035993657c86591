using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Data.Sqlite;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Catalog.Sqlite;

/// <summary>
/// The embedded catalog: one SQLite database (WAL mode) with a row per session and one per summary sidecar,
/// indexed for listing by (tenant, project key, mtime). Schema changes are numbered migrations recorded in
/// <c>PRAGMA user_version</c>. Writes from this process take turns (an asynchronous gate, in order) rather than meet
/// SQLite's lock, which Microsoft.Data.Sqlite retries by sleeping the thread; reads run beside them.
/// </summary>
public sealed class SqliteSessionCatalog : ISessionCatalog, ITenantDirectory
{
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE sessions (
            tenant TEXT NOT NULL,
            project_key TEXT NOT NULL,
            session_id TEXT NOT NULL,
            mtime INTEGER NOT NULL,
            size INTEGER NOT NULL,
            listed INTEGER NOT NULL,
            summary TEXT,
            custom_title TEXT,
            first_prompt TEXT,
            tag TEXT,
            cwd TEXT,
            git_branch TEXT,
            created_at INTEGER,
            parent_session_id TEXT,
            is_sidechain INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, project_key, session_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_sessions_listing ON sessions (tenant, project_key, mtime DESC, session_id DESC);
        CREATE INDEX ix_sessions_last_write ON sessions (tenant, mtime);
        CREATE INDEX ix_sessions_id ON sessions (tenant, session_id);
        CREATE TABLE summaries (
            tenant TEXT NOT NULL,
            project_key TEXT NOT NULL,
            session_id TEXT NOT NULL,
            mtime INTEGER NOT NULL,
            data TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (tenant, project_key, session_id)
        ) WITHOUT ROWID;
        """,
        """
        ALTER TABLE sessions ADD COLUMN claimed_by TEXT;
        ALTER TABLE sessions ADD COLUMN claimed_at INTEGER;
        CREATE TABLE holds (
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, project_key, session_id)
        ) WITHOUT ROWID;
        CREATE TABLE tenant_policies (tenant TEXT PRIMARY KEY, cleanup_period_days INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE retention_audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL,
            last_write INTEGER NOT NULL, size INTEGER NOT NULL, deleted_at INTEGER NOT NULL, node TEXT NOT NULL, reason TEXT NOT NULL,
            UNIQUE (tenant, project_key, session_id, last_write)
        );
        CREATE INDEX ix_retention_audit_tenant ON retention_audit (tenant, deleted_at DESC);
        """,
        """
        CREATE TABLE tenants (
            tenant TEXT PRIMARY KEY, created_at INTEGER NOT NULL,
            max_sessions INTEGER, max_bytes INTEGER, max_entry_bytes INTEGER, requests_per_minute INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE api_keys (
            key_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, secret_hash TEXT NOT NULL, scopes TEXT NOT NULL,
            label TEXT NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX ix_api_keys_tenant ON api_keys (tenant);
        """,
        """
        CREATE TABLE pending_forks (
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL, parent_session_id TEXT NOT NULL,
            parent_length INTEGER NOT NULL, up_to_message_id TEXT, title TEXT, parent_title TEXT, fork_time INTEGER NOT NULL,
            PRIMARY KEY (tenant, project_key, session_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_pending_forks_parent ON pending_forks (tenant, project_key, parent_session_id);
        """,
        """
        ALTER TABLE sessions ADD COLUMN rendered BLOB;
        CREATE INDEX ix_sessions_rendered ON sessions (tenant, project_key, listed, mtime DESC, session_id DESC, rendered);
        """,
        """
        ALTER TABLE sessions DROP COLUMN claimed_by;
        ALTER TABLE sessions DROP COLUMN claimed_at;
        ALTER TABLE sessions ADD COLUMN restored_at INTEGER;
        CREATE TABLE trash (
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL,
            last_write INTEGER NOT NULL, size INTEGER NOT NULL, trashed_at INTEGER NOT NULL, title TEXT,
            summary_mtime INTEGER, summary_data TEXT, summary_version INTEGER,
            PRIMARY KEY (tenant, project_key, session_id)
        ) WITHOUT ROWID;
        CREATE INDEX ix_trash_due ON trash (tenant, trashed_at);
        CREATE TABLE retention_audit_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL,
            last_write INTEGER NOT NULL, size INTEGER NOT NULL, deleted_at INTEGER NOT NULL, node TEXT NOT NULL, reason TEXT NOT NULL
        );
        INSERT INTO retention_audit_v2 (id, tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
            SELECT id, tenant, project_key, session_id, last_write, size, deleted_at, node, reason FROM retention_audit;
        DROP TABLE retention_audit;
        ALTER TABLE retention_audit_v2 RENAME TO retention_audit;
        CREATE INDEX ix_retention_audit_tenant ON retention_audit (tenant, deleted_at DESC);
        """,
        // 7: forks are grains seeded from grain state; the catalog's pending forks go.
        """
        DROP TABLE pending_forks;
        """,
        // 8: append intents: a keyed append without uuids is found again after a crash.
        """
        CREATE TABLE append_intents (
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL, subpath TEXT NOT NULL,
            idempotency_key TEXT NOT NULL, byte_offset INTEGER NOT NULL, bytes INTEGER NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (tenant, project_key, session_id, subpath, idempotency_key)
        ) WITHOUT ROWID;
        """,
        // 9: content search: each message's words, and an FTS5 index over them kept by triggers.
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL,
            uuid TEXT NOT NULL, role TEXT NOT NULL, ts INTEGER, text TEXT NOT NULL,
            UNIQUE (tenant, project_key, session_id, uuid)
        );
        CREATE VIRTUAL TABLE message_fts USING fts5(text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END;
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
        CREATE TRIGGER messages_au AFTER UPDATE ON messages BEGIN
            INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text);
        END;
        """,
        // 10: unfinished forks: the catalog names the forks whose grain state may remain (no listing of grain storage).
        """
        CREATE TABLE unfinished_forks (
            tenant TEXT NOT NULL, project_key TEXT NOT NULL, fork_id TEXT NOT NULL, parent_session_id TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (tenant, project_key, fork_id)
        ) WITHOUT ROWID;
        """,
        // 11: how far each session's messages are indexed, so a start finds what a lost index queue left out.
        """
        ALTER TABLE sessions ADD COLUMN indexed_size INTEGER NOT NULL DEFAULT 0;
        UPDATE sessions SET indexed_size = size;
        """,
        // 12: a message's id names its session (the session's number << 24, then its messages in order), so a search
        // ranks sessions from the full-text index alone; existing messages are numbered again and the index rebuilt.
        """
        CREATE TABLE messages_v2 (
            id INTEGER PRIMARY KEY, tenant TEXT NOT NULL, project_key TEXT NOT NULL, session_id TEXT NOT NULL,
            uuid TEXT NOT NULL, role TEXT NOT NULL, ts INTEGER, text TEXT NOT NULL,
            UNIQUE (tenant, project_key, session_id, uuid)
        );
        INSERT INTO messages_v2 (id, tenant, project_key, session_id, uuid, role, ts, text)
            SELECT (dense_rank() OVER (ORDER BY tenant, project_key, session_id) << 24)
                   + row_number() OVER (PARTITION BY tenant, project_key, session_id ORDER BY id) - 1,
                   tenant, project_key, session_id, uuid, role, ts, text
            FROM messages;
        DROP TRIGGER messages_ai;
        DROP TRIGGER messages_ad;
        DROP TRIGGER messages_au;
        DROP TABLE message_fts;
        DROP TABLE messages;
        ALTER TABLE messages_v2 RENAME TO messages;
        CREATE VIRTUAL TABLE message_fts USING fts5(text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
        CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END;
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
        CREATE TRIGGER messages_au AFTER UPDATE ON messages BEGIN
            INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text);
            INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text);
        END;
        INSERT INTO message_fts(message_fts) VALUES ('rebuild');
        """,
        // 13: a session's forks found through an index of the parent links (the console's lineage), not a project scan.
        """
        CREATE INDEX IF NOT EXISTS ix_sessions_parent ON sessions (tenant, project_key, parent_session_id) WHERE parent_session_id IS NOT NULL;
        """,
        // 14: each session's models and token totals (SessionUsage as JSON), kept by its grain for the console's list.
        """
        ALTER TABLE sessions ADD COLUMN usage TEXT;
        """,
    ];

    // A message's id is its session's number shifted by this many bits plus its place in the session (see migration 12).
    private const int SessionShift = 24;

    private const string Columns = CatalogRows.SessionColumns;
    private readonly string _connectionString;
    private readonly Func<SessionRecord, byte[]>? _render;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly System.Threading.Channels.Channel<IGroupedWrite> _grouped = System.Threading.Channels.Channel.CreateUnbounded<IGroupedWrite>(new() { SingleReader = true });
    private int _groupWriter;

    /// <summary>Creates the catalog over the database file in <paramref name="options"/>.</summary>
    public SqliteSessionCatalog(SqliteCatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var full = System.IO.Path.GetFullPath(options.Path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = full, Pooling = true, DefaultTimeout = 30 }.ToString();
        _render = options.RenderRow;
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
        var version = Convert.ToInt32(await ScalarAsync(connection, "PRAGMA user_version;", cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        for (var i = version; i < Migrations.Length; i++)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (var cmd = connection.CreateCommand())
            {
                cmd.Transaction = tx;
                cmd.CommandText = Migrations[i] + $"\nPRAGMA user_version = {i + 1};";
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task UpsertAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = UpsertCommand(connection);
        await ExecuteUpsertAsync(cmd, record, _render, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task UpsertManyAsync(IReadOnlyList<SessionRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = UpsertCommand(connection);
        cmd.Transaction = tx;
        foreach (var record in records)
        {
            await ExecuteUpsertAsync(cmd, record, _render, cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static SqliteCommand UpsertCommand(SqliteConnection connection)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = $"""
            INSERT INTO sessions ({Columns}, rendered)
            VALUES (@tenant, @pk, @sid, @mtime, @size, @listed, @summary, @title, @prompt, @tag, @cwd, @branch, @created, @parent, @sidechain, @usage, @rendered)
            ON CONFLICT (tenant, project_key, session_id) DO UPDATE SET
                mtime = excluded.mtime, size = excluded.size, listed = excluded.listed, summary = excluded.summary,
                custom_title = excluded.custom_title, first_prompt = excluded.first_prompt, tag = excluded.tag, cwd = excluded.cwd,
                git_branch = excluded.git_branch, created_at = excluded.created_at, parent_session_id = excluded.parent_session_id,
                is_sidechain = excluded.is_sidechain, usage = coalesce(excluded.usage, sessions.usage), rendered = excluded.rendered
            WHERE excluded.size >= sessions.size;
            """;
        return cmd;
    }

    private static async Task ExecuteUpsertAsync(SqliteCommand cmd, SessionRecord record, Func<SessionRecord, byte[]>? render, CancellationToken cancellationToken)
    {
        cmd.Parameters.Clear();
        cmd.Parameters.AddWithValue("@rendered", render is null ? DBNull.Value : render(record));
        cmd.Parameters.AddWithValue("@tenant", record.Tenant);
        cmd.Parameters.AddWithValue("@pk", record.ProjectKey);
        cmd.Parameters.AddWithValue("@sid", record.SessionId);
        cmd.Parameters.AddWithValue("@mtime", record.Mtime);
        cmd.Parameters.AddWithValue("@size", record.Size);
        cmd.Parameters.AddWithValue("@listed", record.Listed ? 1 : 0);
        cmd.Parameters.AddWithValue("@summary", (object?)record.Summary ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@title", (object?)record.CustomTitle ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@prompt", (object?)record.FirstPrompt ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@tag", (object?)record.Tag ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@cwd", (object?)record.Cwd ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@branch", (object?)record.GitBranch ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@created", (object?)record.CreatedAt ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@parent", (object?)record.ParentSessionId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@sidechain", record.IsSidechain ? 1 : 0);
        cmd.Parameters.AddWithValue("@usage", (object?)record.Usage ?? DBNull.Value);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SessionRecord?> GetAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM sessions WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@sid", sessionId);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? CatalogRows.Session(reader) : null;
    }

    /// <inheritdoc />
    public async Task<SessionPage> ListAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = ListCommand(connection, tenant, projectKey, query, Columns);
        var items = new List<SessionRecord>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(CatalogRows.Session(reader));
        }

        string? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = CatalogCursor.Encode(items[^1].Mtime, items[^1].SessionId);
        }

        return new SessionPage(items, next);
    }

    /// <summary>
    /// <see cref="ListAsync"/> as stored renderings (<see cref="SqliteCatalogOptions.RenderRow"/>); a row stored before
    /// renderings were kept is rendered now. Null when no renderer is configured.
    /// </summary>
    public async Task<RenderedPage?> ListRenderedAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (_render is null)
        {
            return null;
        }

        // Only the cursor columns and the rendering: an unfiltered page is read from the covering index alone.
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = ListCommand(connection, tenant, projectKey, query, "session_id, mtime, rendered");
        var items = new List<byte[]?>();
        var ids = new List<string>();
        long lastMtime = 0;
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && items.Count < query.Limit + 1)
            {
                ids.Add(reader.GetString(0));
                lastMtime = items.Count < query.Limit ? reader.GetInt64(1) : lastMtime;
                items.Add(reader.IsDBNull(2) ? null : reader.GetFieldValue<byte[]>(2));
            }
        }

        string? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            ids.RemoveAt(ids.Count - 1);
            next = CatalogCursor.Encode(lastMtime, ids[^1]);
        }

        // Rows stored before renderings were kept are rendered now (one deleted meanwhile is left out).
        var rendered = new List<byte[]>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            if ((items[i] ?? (await GetAsync(tenant, projectKey, ids[i], cancellationToken).ConfigureAwait(false) is { } row ? _render(row) : null)) is { } bytes)
            {
                rendered.Add(bytes);
            }
        }

        return new RenderedPage(rendered, next);
    }

    // The page query of ListAsync: newest first, keyset-paged, filtered; selects the given columns and one extra row.
    private static SqliteCommand ListCommand(SqliteConnection connection, string tenant, string projectKey, SessionQuery query, string columns)
    {
        var after = query.Cursor is null ? ((long Mtime, string SessionId)?)null : CatalogCursor.Decode(query.Cursor);
        var cmd = connection.CreateCommand();
        var sql = new StringBuilder($"SELECT {columns} FROM sessions WHERE tenant = @tenant AND project_key = @pk");
        if (!query.IncludeUnlisted)
        {
            sql.Append(" AND listed = 1");
        }

        if (query.Tag is not null)
        {
            sql.Append(" AND tag = @tag");
            cmd.Parameters.AddWithValue("@tag", query.Tag);
        }

        if (!string.IsNullOrEmpty(query.Text))
        {
            sql.Append(" AND instr(lower(coalesce(custom_title, '') || char(10) || coalesce(summary, '') || char(10) || coalesce(first_prompt, '')), lower(@text)) > 0");
            cmd.Parameters.AddWithValue("@text", query.Text);
        }

        if (after is { } a)
        {
            sql.Append(" AND (mtime < @amtime OR (mtime = @amtime AND session_id < @asid))");
            cmd.Parameters.AddWithValue("@amtime", a.Mtime);
            cmd.Parameters.AddWithValue("@asid", a.SessionId);
        }

        sql.Append(" ORDER BY mtime DESC, session_id DESC LIMIT @limit;");
        cmd.CommandText = sql.ToString();
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@limit", query.Limit + 1);
        return cmd;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ProjectSummary>> ListProjectsAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT project_key, count(*), max(mtime),
                (SELECT cwd FROM sessions c WHERE c.tenant = s.tenant AND c.project_key = s.project_key AND c.listed = 1 AND c.cwd IS NOT NULL ORDER BY c.mtime DESC LIMIT 1)
            FROM sessions s WHERE tenant = @tenant AND listed = 1 GROUP BY project_key ORDER BY max(mtime) DESC, project_key;
            """;
        cmd.Parameters.AddWithValue("@tenant", tenant);
        var result = new List<ProjectSummary>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(new ProjectSummary(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> SearchAsync(string tenant, string text, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"""
            SELECT {Columns} FROM sessions WHERE tenant = @tenant AND listed = 1 AND (
                instr(lower(coalesce(custom_title, '') || char(10) || coalesce(summary, '') || char(10) || coalesce(first_prompt, '') || char(10) || coalesce(tag, '')), lower(@text)) > 0
                OR substr(session_id, 1, length(@text)) = @text)
            ORDER BY mtime DESC, session_id DESC LIMIT @limit;
            """;
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@text", text);
        cmd.Parameters.AddWithValue("@limit", limit);
        return await ReadSessionsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> FindAsync(string tenant, string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM sessions WHERE tenant = @tenant AND session_id = @sid ORDER BY mtime DESC;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@sid", sessionId);
        return await ReadSessionsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<List<SessionRecord>> ReadSessionsAsync(SqliteCommand cmd, CancellationToken cancellationToken)
    {
        var result = new List<SessionRecord>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Session(reader));
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> ListForksAsync(string tenant, string projectKey, IReadOnlyCollection<string> parentSessionIds, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parentSessionIds);
        if (parentSessionIds.Count == 0 || limit <= 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        // One parameter per parent (at most 1,000, under SQLite's 32,766).
        var names = parentSessionIds.Take(1000).Select((id, i) => { cmd.Parameters.AddWithValue($"@p{i}", id); return $"@p{i}"; }).ToList();
        cmd.CommandText = $"SELECT {Columns} FROM sessions WHERE tenant = @tenant AND project_key = @pk AND parent_session_id IN ({string.Join(", ", names)}) ORDER BY mtime DESC, session_id DESC LIMIT @limit;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@limit", limit);
        return await ReadSessionsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<(string SessionId, long Mtime)> ListMtimesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT session_id, mtime FROM sessions WHERE tenant = @tenant AND project_key = @pk ORDER BY mtime DESC, session_id DESC;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return (reader.GetString(0), reader.GetInt64(1));
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        // One transaction: an index write of this session comes wholly before (its messages are deleted here) or after
        // (it finds no row and inserts nothing), never between the statements.
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            DELETE FROM summaries WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM holds WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM append_intents WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM messages WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM trash WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM sessions WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            """;
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@sid", sessionId);
        var removed = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <inheritdoc />
    public async Task DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM summaries WHERE tenant = @tenant; DELETE FROM append_intents WHERE tenant = @tenant; DELETE FROM unfinished_forks WHERE tenant = @tenant; DELETE FROM messages WHERE tenant = @tenant; DELETE FROM holds WHERE tenant = @tenant; DELETE FROM trash WHERE tenant = @tenant; DELETE FROM sessions WHERE tenant = @tenant;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task IndexMessagesAsync(string tenant, string projectKey, string sessionId, IReadOnlyList<IndexedMessage> messages, long indexedLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        await WriteGroupedAsync((connection, tx) => IndexMessagesAsync(connection, tx, tenant, projectKey, sessionId, messages, indexedLength, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> IndexMessagesAsync(SqliteConnection connection, SqliteTransaction tx, string tenant, string projectKey, string sessionId, IReadOnlyList<IndexedMessage> messages, long indexedLength, CancellationToken cancellationToken)
    {
        if (messages.Count > 0 && await NextMessageIdAsync(connection, tx, tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false) is { } first)
        {
            // A new message takes the session's next id; one indexed before keeps its id and gets its new words.
            await using var cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO messages (id, tenant, project_key, session_id, uuid, role, ts, text) VALUES (@id, @tenant, @pk, @sid, @uuid, @role, @ts, @text)
                ON CONFLICT (tenant, project_key, session_id, uuid) DO UPDATE SET role = excluded.role, ts = excluded.ts, text = excluded.text WHERE messages.text <> excluded.text;
                """;
            AddKey(cmd, tenant, projectKey, sessionId);
            var id = cmd.Parameters.Add("@id", SqliteType.Integer);
            var uuid = cmd.Parameters.Add("@uuid", SqliteType.Text);
            var role = cmd.Parameters.Add("@role", SqliteType.Text);
            var ts = cmd.Parameters.Add("@ts", SqliteType.Integer);
            var text = cmd.Parameters.Add("@text", SqliteType.Text);
            var (next, end) = first;
            foreach (var m in messages.Take((int)Math.Min(messages.Count, end - next)))
            {
                (id.Value, uuid.Value, role.Value, ts.Value, text.Value) = (next++, m.Uuid, m.Role, (object?)m.Timestamp ?? DBNull.Value, m.Text);
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using var progress = connection.CreateCommand();
        progress.Transaction = tx;
        progress.CommandText = "UPDATE sessions SET indexed_size = max(indexed_size, @length) WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;";
        AddKey(progress, tenant, projectKey, sessionId);
        progress.Parameters.AddWithValue("@length", indexedLength);
        await progress.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    // The id the session's next new message takes and the end of its range, in the index write's transaction (which
    // holds the write lock from its start): the session's number is that of its messages, or the next unused one. Null
    // when the catalog has no row for the session (a session being deleted: nothing is indexed).
    private static async Task<(long Next, long End)?> NextMessageIdAsync(SqliteConnection connection, SqliteTransaction tx, string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            SELECT EXISTS (SELECT 1 FROM sessions WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid),
                   coalesce((SELECT id >> 24 FROM messages WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid LIMIT 1),
                            (SELECT max(id) >> 24 FROM messages) + 1, 1);
            """;
        AddKey(cmd, tenant, projectKey, sessionId);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || reader.GetInt64(0) == 0)
        {
            return null;
        }

        var start = reader.GetInt64(1) << SessionShift;
        var end = start + (1L << SessionShift);
        await using var last = connection.CreateCommand();
        last.Transaction = tx;
        last.CommandText = "SELECT max(id) FROM messages WHERE id >= @start AND id < @end;";
        last.Parameters.AddWithValue("@start", start);
        last.Parameters.AddWithValue("@end", end);
        return await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long max ? (max + 1, end) : (start, end);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionKey>> ListUnindexedAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT project_key, session_id FROM sessions WHERE tenant = @tenant AND indexed_size < size ORDER BY mtime DESC LIMIT @limit;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@limit", limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<SessionKey>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new SessionKey(reader.GetString(0), reader.GetString(1)));
        }

        return keys;
    }

    /// <inheritdoc />
    /// <remarks>FTS5 with the unicode61 tokenizer (case and diacritics folded); relevance is FTS5's bm25, a session's
    /// that of its best message; sessions of equal relevance in the order they were first indexed. The index's matches
    /// are ranked by the session their id names (no join per match), and only the candidates a page needs are checked
    /// against the tenant, the project and the trash.</remarks>
    public async Task<IReadOnlyList<SearchHit>> SearchMessagesAsync(string tenant, SearchQuery query, string? projectKey, int limit, int offset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        var candidates = new Dictionary<long, Candidate>();
        await using (var match = connection.CreateCommand())
        {
            match.CommandText = "SELECT rowid, -bm25(message_fts) FROM message_fts WHERE message_fts MATCH @q;";
            match.Parameters.AddWithValue("@q", Fts5(query));
            await using var reader = await match.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (id, score) = (reader.GetInt64(0), reader.GetDouble(1));
                if (!candidates.TryGetValue(id >> SessionShift, out var candidate))
                {
                    candidates[id >> SessionShift] = candidate = new Candidate(id >> SessionShift);
                }

                candidate.Add(id, score);
            }
        }

        // The page's sessions: candidates in rank order, a batch at a time, kept when they are the tenant's (and the
        // project's), listed and not trashed.
        var ranked = candidates.Values.Order().ToList();
        var page = new List<(Candidate Candidate, string ProjectKey, string SessionId)>();
        var skipped = 0;
        for (var at = 0; at < ranked.Count && page.Count < limit; at += 256)
        {
            var batch = ranked.GetRange(at, Math.Min(256, ranked.Count - at));
            var owned = await OwnedSessionsAsync(connection, tenant, projectKey, batch, cancellationToken).ConfigureAwait(false);
            foreach (var candidate in batch)
            {
                if (page.Count < limit && owned.TryGetValue(candidate.Number, out var key) && skipped++ >= offset)
                {
                    page.Add((candidate, key.ProjectKey, key.SessionId));
                }
            }
        }

        var ids = page.SelectMany(p => p.Candidate.Best).ToList();
        var messages = await PageMessagesAsync(connection, query, ids, cancellationToken).ConfigureAwait(false);
        var hits = new List<SearchHit>(page.Count);
        foreach (var (candidate, pk, sid) in page)
        {
            if (await GetAsync(tenant, pk, sid, cancellationToken).ConfigureAwait(false) is { } row)
            {
                hits.Add(new SearchHit(row, candidate.Score, [.. candidate.Best.Where(messages.ContainsKey).Select(id => messages[id])]));
            }
        }

        return hits;
    }

    // Which of the candidates are listed sessions of the tenant (and project): number → key. The messages are read by
    // id (the unary + keeps SQLite from scanning the tenant's messages by its index instead).
    private static async Task<Dictionary<long, SessionKey>> OwnedSessionsAsync(SqliteConnection connection, string tenant, string? projectKey, List<Candidate> batch, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"""
            SELECT m.id >> {SessionShift}, m.project_key, m.session_id FROM messages m
            CROSS JOIN sessions s ON s.tenant = m.tenant AND s.project_key = m.project_key AND s.session_id = m.session_id AND s.listed = 1
            WHERE m.id IN ({string.Join(',', batch.Select((_, i) => "@id" + i.ToString(CultureInfo.InvariantCulture)))}) AND +m.tenant = @tenant AND (@pk IS NULL OR +m.project_key = @pk);
            """;
        for (var i = 0; i < batch.Count; i++)
        {
            cmd.Parameters.AddWithValue("@id" + i.ToString(CultureInfo.InvariantCulture), batch[i].FirstId);
        }

        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", (object?)projectKey ?? DBNull.Value);
        var owned = new Dictionary<long, SessionKey>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            owned[reader.GetInt64(0)] = new SessionKey(reader.GetString(1), reader.GetString(2));
        }

        return owned;
    }

    // The page's messages by id, each with its snippet.
    private static async Task<Dictionary<long, MessageHit>> PageMessagesAsync(SqliteConnection connection, SearchQuery query, List<long> ids, CancellationToken cancellationToken)
    {
        var messages = new Dictionary<long, MessageHit>();
        if (ids.Count == 0)
        {
            return messages;
        }

        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $$"""
            SELECT f.rowid, m.uuid, m.role, m.ts, snippet(message_fts, 0, '{{SearchHit.Mark}}', '{{SearchHit.Mark}}', '…', 24)
            FROM message_fts f CROSS JOIN messages m ON m.id = f.rowid
            WHERE message_fts MATCH @q AND f.rowid IN ({{string.Join(',', ids.Select((_, i) => "@id" + i.ToString(CultureInfo.InvariantCulture)))}});
            """;
        cmd.Parameters.AddWithValue("@q", Fts5(query));
        for (var i = 0; i < ids.Count; i++)
        {
            cmd.Parameters.AddWithValue("@id" + i.ToString(CultureInfo.InvariantCulture), ids[i]);
        }

        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages[reader.GetInt64(0)] = new MessageHit(reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetInt64(3), reader.GetString(4));
        }

        return messages;
    }

    // A session the index matched: its number, its best score and its best messages (ids, best first, earlier first
    // among equals). Orders by score, best first, then by number.
    private sealed class Candidate(long number) : IComparable<Candidate>
    {
        private readonly List<(long Id, double Score)> _best = [];

        public long Number => number;

        public double Score => _best[0].Score;

        public long FirstId => _best[0].Id;

        public IEnumerable<long> Best => _best.Select(b => b.Id);

        public void Add(long id, double score)
        {
            var at = _best.FindIndex(b => score > b.Score || (score == b.Score && id < b.Id));
            if (at < 0 && _best.Count < SearchHit.MessagesPerSession)
            {
                _best.Add((id, score));
            }
            else if (at >= 0)
            {
                _best.Insert(at, (id, score));
                if (_best.Count > SearchHit.MessagesPerSession)
                {
                    _best.RemoveAt(_best.Count - 1);
                }
            }
        }

        public int CompareTo(Candidate? other) => other is null ? -1 : other.Score.CompareTo(Score) is var c && c != 0 ? c : Number.CompareTo(other.Number);
    }

    // The query as an FTS5 expression: each phrase quoted (its words are letters and digits only), groups ANDed,
    // alternatives ORed, exclusions after NOT.
    private static string Fts5(SearchQuery query)
    {
        static string Phrase(IReadOnlyList<string> words) => "\"" + string.Join(' ', words) + "\"";
        var expression = string.Join(" AND ", query.Groups.Select(g => "(" + string.Join(" OR ", g.Select(Phrase)) + ")"));
        return query.Excluded.Aggregate(expression, (e, x) => $"{e} NOT {Phrase(x)}");
    }

    /// <inheritdoc />
    public async Task<AppendIntent?> AddAppendIntentAsync(AppendIntent intent, long notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(intent);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            DELETE FROM append_intents WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid AND at < @notBefore AND idempotency_key <> @key;
            INSERT INTO append_intents (tenant, project_key, session_id, subpath, idempotency_key, byte_offset, bytes, at) VALUES (@tenant, @pk, @sid, @subpath, @key, @offset, @bytes, @at)
            ON CONFLICT (tenant, project_key, session_id, subpath, idempotency_key) DO UPDATE SET byte_offset = @offset, bytes = @bytes, at = @at WHERE append_intents.at < @notBefore;
            SELECT changes(), byte_offset, bytes, at FROM append_intents WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid AND subpath = @subpath AND idempotency_key = @key;
            """;
        AddIntent(cmd, intent);
        cmd.Parameters.AddWithValue("@notBefore", notBefore);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && reader.GetInt64(0) == 0
            ? intent with { Offset = reader.GetInt64(1), Bytes = reader.GetInt64(2), At = reader.GetInt64(3) }
            : null;
    }

    /// <inheritdoc />
    public async Task SetAppendIntentAsync(AppendIntent intent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(intent);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO append_intents (tenant, project_key, session_id, subpath, idempotency_key, byte_offset, bytes, at) VALUES (@tenant, @pk, @sid, @subpath, @key, @offset, @bytes, @at)
            ON CONFLICT (tenant, project_key, session_id, subpath, idempotency_key) DO UPDATE SET byte_offset = @offset, bytes = @bytes, at = @at;
            """;
        AddIntent(cmd, intent);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AddUnfinishedForkAsync(UnfinishedFork fork, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fork);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO unfinished_forks (tenant, project_key, fork_id, parent_session_id, at) VALUES (@tenant, @pk, @fork, @parent, @at)
            ON CONFLICT (tenant, project_key, fork_id) DO UPDATE SET parent_session_id = @parent, at = @at;
            """;
        cmd.Parameters.AddWithValue("@tenant", fork.Tenant);
        cmd.Parameters.AddWithValue("@pk", fork.ProjectKey);
        cmd.Parameters.AddWithValue("@fork", fork.ForkId);
        cmd.Parameters.AddWithValue("@parent", fork.ParentSessionId);
        cmd.Parameters.AddWithValue("@at", fork.At);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task RemoveUnfinishedForkAsync(string tenant, string projectKey, string forkId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "DELETE FROM unfinished_forks WHERE tenant = @tenant AND project_key = @pk AND fork_id = @fork;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@fork", forkId);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UnfinishedFork>> ListUnfinishedForksAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT project_key, fork_id, parent_session_id, at FROM unfinished_forks WHERE tenant = @tenant ORDER BY at, project_key, fork_id;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var forks = new List<UnfinishedFork>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            forks.Add(new UnfinishedFork(tenant, reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return forks;
    }

    private static void AddIntent(SqliteCommand cmd, AppendIntent intent)
    {
        cmd.Parameters.AddWithValue("@tenant", intent.Tenant);
        cmd.Parameters.AddWithValue("@pk", intent.Key.ProjectKey);
        cmd.Parameters.AddWithValue("@sid", intent.Key.SessionId);
        cmd.Parameters.AddWithValue("@subpath", intent.Key.Subpath ?? "");
        cmd.Parameters.AddWithValue("@key", intent.IdempotencyKey);
        cmd.Parameters.AddWithValue("@offset", intent.Offset);
        cmd.Parameters.AddWithValue("@bytes", intent.Bytes);
        cmd.Parameters.AddWithValue("@at", intent.At);
    }

    /// <inheritdoc />
    public async Task<SummaryRecord?> GetSummaryAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT session_id, mtime, data, version FROM summaries WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@sid", sessionId);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new SummaryRecord(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3))
            : null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SummaryRecord> ListSummariesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT session_id, mtime, data, version FROM summaries WHERE tenant = @tenant AND project_key = @pk ORDER BY session_id;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new SummaryRecord(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3));
        }
    }

    /// <inheritdoc />
    public async Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        if (expectedVersion == 0)
        {
            cmd.CommandText = "INSERT INTO summaries (tenant, project_key, session_id, mtime, data, version) VALUES (@tenant, @pk, @sid, @mtime, @data, 1) ON CONFLICT DO NOTHING;";
        }
        else
        {
            cmd.CommandText = "UPDATE summaries SET mtime = @mtime, data = @data, version = version + 1 WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid AND version = @expected AND mtime >= @notBefore;";
            cmd.Parameters.AddWithValue("@expected", expectedVersion);
            cmd.Parameters.AddWithValue("@notBefore", notBefore);
        }

        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@sid", sessionId);
        cmd.Parameters.AddWithValue("@mtime", mtime);
        cmd.Parameters.AddWithValue("@data", dataJson);
        if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
        {
            return expectedVersion + 1;
        }

        var current = await GetSummaryAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        throw new ConflictException("summary_version_conflict", $"The summary of session '{sessionId}' changed since version {expectedVersion}; re-read it and retry.",
            expectedVersion.ToString(CultureInfo.InvariantCulture), (current?.Version ?? 0).ToString(CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    public async Task WriteSummariesAsync(IReadOnlyList<TenantSummary> summaries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        if (summaries.Count == 0)
        {
            return;
        }

        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO summaries (tenant, project_key, session_id, mtime, data, version) VALUES (@tenant, @pk, @sid, @mtime, @data, @version)
            ON CONFLICT (tenant, project_key, session_id) DO UPDATE SET mtime = excluded.mtime, data = excluded.data, version = excluded.version;
            """;
        var parameters = new[] { "@tenant", "@pk", "@sid", "@mtime", "@data", "@version" }.Select(n => cmd.Parameters.Add(n, SqliteType.Text)).ToArray();
        parameters[3].SqliteType = SqliteType.Integer;
        parameters[5].SqliteType = SqliteType.Integer;
        foreach (var (tenant, projectKey, s) in summaries)
        {
            parameters[0].Value = tenant;
            parameters[1].Value = projectKey;
            parameters[2].Value = s.SessionId;
            parameters[3].Value = s.Mtime;
            parameters[4].Value = s.DataJson;
            parameters[5].Value = s.Version;
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListTenantsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT DISTINCT tenant FROM sessions ORDER BY tenant;";
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.GetString(0);
        }
    }

    /// <inheritdoc />
    public async Task<int?> GetCleanupPeriodDaysAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT cleanup_period_days FROM tenant_policies WHERE tenant = @tenant;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long days ? (int)days : null;
    }

    /// <inheritdoc />
    public async Task SetCleanupPeriodDaysAsync(string tenant, int days, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO tenant_policies (tenant, cleanup_period_days) VALUES (@tenant, @days) ON CONFLICT (tenant) DO UPDATE SET cleanup_period_days = excluded.cleanup_period_days;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@days", days);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SetHoldAsync(string tenant, string projectKey, string sessionId, string reason, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO holds (tenant, project_key, session_id, reason, created_at) VALUES (@tenant, @pk, @sid, @reason, @now) ON CONFLICT DO UPDATE SET reason = excluded.reason;";
        AddKey(cmd, tenant, projectKey, sessionId);
        cmd.Parameters.AddWithValue("@reason", reason);
        cmd.Parameters.AddWithValue("@now", now);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveHoldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "DELETE FROM holds WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;";
        AddKey(cmd, tenant, projectKey, sessionId);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> ListExpiredAsync(string tenant, long cutoff, IReadOnlyCollection<string> holdTags, int limit, ExpiredCursor? after, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        var page = after is null ? "" : " AND (s.mtime, s.project_key, s.session_id) > (@am, @ap, @as)";
        cmd.CommandText = $"SELECT {Columns} FROM sessions s WHERE {ExpiredFilter(cmd, holdTags)}{page} ORDER BY s.mtime, s.project_key, s.session_id LIMIT @limit;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@cutoff", cutoff);
        cmd.Parameters.AddWithValue("@limit", limit);
        if (after is not null)
        {
            cmd.Parameters.AddWithValue("@am", after.Mtime);
            cmd.Parameters.AddWithValue("@ap", after.ProjectKey);
            cmd.Parameters.AddWithValue("@as", after.SessionId);
        }

        var result = new List<SessionRecord>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Session(reader));
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<bool> IsHeldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM holds WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;";
        AddKey(cmd, tenant, projectKey, sessionId);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public async Task<bool> MoveToTrashAsync(TrashedSession entry, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return await WriteGroupedAsync((connection, tx) => MoveToTrashAsync(connection, tx, entry, node, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<bool> MoveToTrashAsync(SqliteConnection connection, SqliteTransaction tx, TrashedSession entry, string node, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            DELETE FROM sessions WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid AND mtime = @last AND size = @size
            AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.tenant = @tenant AND h.project_key = @pk AND h.session_id = @sid);
            """;
        AddKey(cmd, entry.Tenant, entry.ProjectKey, entry.SessionId);
        cmd.Parameters.AddWithValue("@last", entry.LastWrite);
        cmd.Parameters.AddWithValue("@size", entry.Size);
        if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            return false;
        }

        cmd.CommandText = """
            INSERT INTO trash (tenant, project_key, session_id, last_write, size, trashed_at, title, summary_mtime, summary_data, summary_version)
            SELECT @tenant, @pk, @sid, @last, @size, @at, @title, m.mtime, m.data, m.version
            FROM (SELECT 1) LEFT JOIN summaries m ON m.tenant = @tenant AND m.project_key = @pk AND m.session_id = @sid;
            DELETE FROM summaries WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
            VALUES (@tenant, @pk, @sid, @last, @size, @at, @node, 'retention');
            """;
        cmd.Parameters.AddWithValue("@at", entry.TrashedAt);
        cmd.Parameters.AddWithValue("@title", (object?)entry.Title ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@node", node);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public async Task<TrashedSession?> GetTrashedAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken) =>
        (await QueryTrashAsync("tenant = @tenant AND project_key = @pk AND session_id = @sid", cmd => AddKey(cmd, tenant, projectKey, sessionId), cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<TrashedSession>> ListTrashAsync(string tenant, long trashedBefore, int limit, CancellationToken cancellationToken) =>
        QueryTrashAsync("tenant = @tenant AND trashed_at < @before ORDER BY trashed_at, project_key, session_id LIMIT @limit", cmd =>
        {
            cmd.Parameters.AddWithValue("@tenant", tenant);
            cmd.Parameters.AddWithValue("@before", trashedBefore);
            cmd.Parameters.AddWithValue("@limit", limit);
        }, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RestoreFromTrashAsync(SessionRecord row, long now, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var move = connection.CreateCommand())
        {
            move.Transaction = tx;
            move.CommandText = """
                INSERT INTO summaries (tenant, project_key, session_id, mtime, data, version)
                SELECT tenant, project_key, session_id, summary_mtime, summary_data, summary_version FROM trash
                WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid AND summary_data IS NOT NULL
                ON CONFLICT DO NOTHING;
                INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
                SELECT tenant, project_key, session_id, last_write, size, @now, @actor, 'restore' FROM trash
                WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
                DELETE FROM trash WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
                """;
            AddKey(move, row.Tenant, row.ProjectKey, row.SessionId);
            move.Parameters.AddWithValue("@now", now);
            move.Parameters.AddWithValue("@actor", actor);
            if (await move.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                return false;
            }
        }

        await using (var upsert = UpsertCommand(connection))
        {
            upsert.Transaction = tx;
            await ExecuteUpsertAsync(upsert, row, _render, cancellationToken).ConfigureAwait(false);
            upsert.CommandText = "UPDATE sessions SET restored_at = @now WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;";
            upsert.Parameters.AddWithValue("@now", now);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <inheritdoc />
    public Task<bool> PurgeTrashedAsync(string tenant, string projectKey, string sessionId, long now, string node, CancellationToken cancellationToken) =>
        WriteGroupedAsync((connection, tx) => PurgeTrashedAsync(connection, tx, tenant, projectKey, sessionId, now, node, cancellationToken), cancellationToken);

    private static async Task<bool> PurgeTrashedAsync(SqliteConnection connection, SqliteTransaction tx, string tenant, string projectKey, string sessionId, long now, string node, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
            SELECT tenant, project_key, session_id, last_write, size, @now, @node, 'purge' FROM trash
            WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM trash WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            DELETE FROM messages WHERE tenant = @tenant AND project_key = @pk AND session_id = @sid;
            """;
        AddKey(cmd, tenant, projectKey, sessionId);
        cmd.Parameters.AddWithValue("@now", now);
        cmd.Parameters.AddWithValue("@node", node);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    private async Task<IReadOnlyList<TrashedSession>> QueryTrashAsync(string where, Action<SqliteCommand> bind, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {CatalogRows.TrashColumns} FROM trash WHERE {where};";
        bind(cmd);
        var result = new List<TrashedSession>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Trashed(reader));
        }

        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {CatalogRows.AuditColumns} FROM retention_audit WHERE tenant = @tenant ORDER BY deleted_at DESC, id DESC LIMIT @limit;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@limit", limit);
        var result = new List<AuditRecord>();
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Audit(reader));
        }

        return result;
    }

    /// <inheritdoc />
    public async Task CreateTenantAsync(TenantRecord tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO tenants (tenant, created_at, max_sessions, max_bytes, max_entry_bytes, requests_per_minute) VALUES (@tenant, @at, @ms, @mb, @me, @rpm) ON CONFLICT DO NOTHING;";
        cmd.Parameters.AddWithValue("@tenant", tenant.Tenant);
        cmd.Parameters.AddWithValue("@at", tenant.CreatedAt);
        AddLimits(cmd, tenant.Limits);
        if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new ConflictException("tenant_exists", $"Tenant '{tenant.Tenant}' exists already.", "absent", "present");
        }
    }

    /// <inheritdoc />
    public async Task<TenantRecord?> GetTenantAsync(string tenant, CancellationToken cancellationToken) =>
        (await QueryTenantsAsync("WHERE tenant = @tenant", tenant, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<TenantRecord>> ListTenantRecordsAsync(CancellationToken cancellationToken) => QueryTenantsAsync("", null, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> SetLimitsAsync(string tenant, TenantLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "UPDATE tenants SET max_sessions = @ms, max_bytes = @mb, max_entry_bytes = @me, requests_per_minute = @rpm WHERE tenant = @tenant;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        AddLimits(cmd, limits);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task DeleteTenantRecordAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "DELETE FROM api_keys WHERE tenant = @tenant; DELETE FROM tenant_policies WHERE tenant = @tenant; DELETE FROM tenants WHERE tenant = @tenant;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<TenantUsage> GetUsageAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*), coalesce(sum(size), 0) FROM sessions WHERE tenant = @tenant;";
        cmd.Parameters.AddWithValue("@tenant", tenant);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new TenantUsage(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <inheritdoc />
    public async Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO api_keys (key_id, tenant, secret_hash, scopes, label, created_at, revoked_at) VALUES (@id, @tenant, @hash, @scopes, @label, @at, NULL);";
        cmd.Parameters.AddWithValue("@id", key.KeyId);
        cmd.Parameters.AddWithValue("@tenant", key.Tenant);
        cmd.Parameters.AddWithValue("@hash", key.SecretHash);
        cmd.Parameters.AddWithValue("@scopes", string.Join(' ', key.Scopes));
        cmd.Parameters.AddWithValue("@label", key.Label);
        cmd.Parameters.AddWithValue("@at", key.CreatedAt);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken) =>
        (await QueryKeysAsync("WHERE key_id = @p", keyId, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string tenant, CancellationToken cancellationToken) =>
        QueryKeysAsync("WHERE tenant = @p ORDER BY created_at DESC, key_id", tenant, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RevokeKeyAsync(string tenant, string keyId, long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "UPDATE api_keys SET revoked_at = @now WHERE key_id = @id AND tenant = @tenant AND revoked_at IS NULL;";
        cmd.Parameters.AddWithValue("@id", keyId);
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@now", now);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task AuditAsync(string tenant, string projectKey, string sessionId, long size, long now, string actor, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await OpenWriterAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason) VALUES (@tenant, @pk, @sid, @now, @size, @now, @actor, @reason) ON CONFLICT DO NOTHING;";
        cmd.Parameters.AddWithValue("@reason", reason);
        AddKey(cmd, tenant, projectKey, sessionId);
        cmd.Parameters.AddWithValue("@size", size);
        cmd.Parameters.AddWithValue("@now", now);
        cmd.Parameters.AddWithValue("@actor", actor);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<TenantRecord>> QueryTenantsAsync(string where, string? tenant, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {CatalogRows.TenantColumns} FROM tenants {where} ORDER BY tenant;";
        if (tenant is not null)
        {
            cmd.Parameters.AddWithValue("@tenant", tenant);
        }

        var result = new List<TenantRecord>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Tenant(r));
        }

        return result;
    }

    private async Task<IReadOnlyList<ApiKeyRecord>> QueryKeysAsync(string where, string value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT {CatalogRows.KeyColumns} FROM api_keys {where};";
        cmd.Parameters.AddWithValue("@p", value);
        var result = new List<ApiKeyRecord>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Key(r));
        }

        return result;
    }

    private static void AddLimits(SqliteCommand cmd, TenantLimits limits)
    {
        cmd.Parameters.AddWithValue("@ms", (object?)limits.MaxSessions ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@mb", (object?)limits.MaxBytes ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@me", (object?)limits.MaxEntryBytes ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@rpm", (object?)limits.RequestsPerMinute ?? DBNull.Value);
    }

    // Sessions of @tenant last written before @cutoff, without a hold row and without a hold tag.
    private static string ExpiredFilter(SqliteCommand cmd, IReadOnlyCollection<string> holdTags)
    {
        var tags = holdTags.Select((t, i) =>
        {
            cmd.Parameters.AddWithValue($"@hold{i}", t);
            return $"@hold{i}";
        }).ToList();
        return "s.tenant = @tenant AND s.mtime < @cutoff AND coalesce(s.restored_at, 0) < @cutoff"
            + " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.tenant = s.tenant AND h.project_key = s.project_key AND h.session_id = s.session_id)"
            + (tags.Count == 0 ? "" : $" AND (s.tag IS NULL OR s.tag NOT IN ({string.Join(", ", tags)}))");
    }

    private static void AddKey(SqliteCommand cmd, string tenant, string projectKey, string sessionId)
    {
        cmd.Parameters.AddWithValue("@tenant", tenant);
        cmd.Parameters.AddWithValue("@pk", projectKey);
        cmd.Parameters.AddWithValue("@sid", sessionId);
    }

    // Group commit for the writes that come many at once (the sweep's trash moves and purges, the content index's
    // writes): every one queued while a transaction is under way goes into the next, each in a savepoint of its own, so
    // one that fails is undone alone and the rest commit together. A commit writes the pages a batch changed once
    // (sessions, trash and audit pages, FTS5 segments), not once per write. A write's task completes after the commit.
    private Task<T> WriteGroupedAsync<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var write = new GroupedWrite<T>(work, cancellationToken);
        _grouped.Writer.TryWrite(write);
        if (Interlocked.Exchange(ref _groupWriter, 1) == 0)
        {
            _ = Task.Run(WriteGroupsAsync, CancellationToken.None);
        }

        return write.Completion;
    }

    private async Task WriteGroupsAsync()
    {
        var group = new List<IGroupedWrite>();
        var done = new List<IGroupedWrite>();
        while (await _grouped.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (group.Count < MaxGroupedWrites && _grouped.Reader.TryRead(out var next))
            {
                group.Add(next);
            }

            try
            {
                await using var connection = await OpenWriterAsync(CancellationToken.None).ConfigureAwait(false);
                await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync().ConfigureAwait(false);
                foreach (var write in group)
                {
                    tx.Save("w");
                    try
                    {
                        await write.RunAsync(connection, tx).ConfigureAwait(false);
                        tx.Release("w");
                        done.Add(write);
                    }
                    catch (Exception ex)
                    {
                        tx.Rollback("w");
                        tx.Release("w");
                        write.Fail(ex);
                    }
                }

                await tx.CommitAsync().ConfigureAwait(false);
                done.ForEach(w => w.Complete());
            }
            catch (Exception ex)
            {
                // The transaction did not commit: nothing of the group is written (a write failed alone keeps its error).
                group.ForEach(w => w.Fail(ex));
            }

            group.Clear();
            done.Clear();
        }
    }

    private const int MaxGroupedWrites = 256;

    private interface IGroupedWrite
    {
        Task RunAsync(SqliteConnection connection, SqliteTransaction tx);

        void Complete();

        void Fail(Exception error);
    }

    private sealed class GroupedWrite<T>(Func<SqliteConnection, SqliteTransaction, Task<T>> work, CancellationToken cancellationToken) : IGroupedWrite
    {
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Completion => _done.Task;

        public async Task RunAsync(SqliteConnection connection, SqliteTransaction tx)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _result = await work(connection, tx).ConfigureAwait(false);
        }

        public void Complete() => _done.TrySetResult(_result);

        public void Fail(Exception error) => _done.TrySetException(error);
    }

    // A connection for a write, taken only when this process has no other write under way; it lets the next one in
    // when it closes. SQLite runs one writer at a time anyway, and a writer that finds the database locked is retried
    // by Microsoft.Data.Sqlite after putting its thread to sleep (no queue, no wake-up when the lock frees): 16
    // retention workers or index writers at once spent most of a sweep asleep (10,000 sessions: 14 s, 0.4 ms of CPU
    // each). Here they wait asynchronously, in order. Readers never wait (WAL).
    private async Task<SqliteConnection> OpenWriterAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            var released = 0;
            connection.StateChange += (_, e) =>
            {
                if (e.CurrentState == System.Data.ConnectionState.Closed && Interlocked.Exchange(ref released, 1) == 0)
                {
                    _writer.Release();
                }
            };
            return connection;
        }
        catch
        {
            _writer.Release();
            throw;
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

        // WAL with synchronous=NORMAL: a commit does not wait for an fsync. A power cut may lose the last catalog
        // updates, never corrupt the file; the catalog is derived from the transcripts and `reindex` rebuilds it.
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

}
