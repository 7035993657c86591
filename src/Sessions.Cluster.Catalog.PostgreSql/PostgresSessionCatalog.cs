using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Npgsql;
using Sessions.Cluster.Core;
using Sessions.Cluster.Core.Search;
using Sessions.Cluster.Core.Storage;
using Sessions.Cluster.Core.Tenants;

namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>
/// The cluster catalog in PostgreSQL: the same contract as the SQLite catalog, shared by every node. Schema changes
/// are the numbered <see cref="Migrations"/>, recorded in <c>schema_migrations</c> and applied under an advisory
/// lock so nodes that start together migrate once. Row-level security is a second wall behind the tenant filter in
/// every query: each command runs with <c>sessions.tenant</c> set to the tenant it acts for (<c>*</c> only for
/// cross-tenant system work such as the retention sweeper and the tenant directory), and rows of other tenants are
/// invisible to it, even to a query that forgot its filter.
/// </summary>
public sealed partial class PostgresSessionCatalog : ISessionCatalog, ITenantDirectory, IAsyncDisposable
{
    private const long MigrationLockId = 0x5E55_1045;
    private const string Columns = CatalogRows.SessionColumns;
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Creates the catalog over <paramref name="options"/>' connection string.</summary>
    /// <exception cref="ArgumentException">The connection string is empty.</exception>
    public PostgresSessionCatalog(PostgresCatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("The PostgreSQL connection string is empty (Sessions:Postgres).", nameof(options));
        }

        // Idle pooled connections are probed every few seconds, so those a PostgreSQL restart broke are dropped
        // before a request picks them up (unless the connection string sets its own Keepalive).
        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        if (connection.KeepAlive == 0)
        {
            connection.KeepAlive = 5;
        }

        _dataSource = NpgsqlDataSource.Create(connection.ConnectionString);
    }

    /// <summary>
    /// False when the catalog connects as a role that bypasses row-level security (a superuser or a BYPASSRLS role);
    /// known after <see cref="InitializeAsync"/>. Connect as an ordinary role that owns the tables.
    /// </summary>
    public bool RowLevelSecurityEnforced { get; private set; }

    /// <summary>
    /// Whether content search can use the GIN index on <c>message_text.tsv</c>; known after <see cref="InitializeAsync"/>.
    /// Under row-level security PostgreSQL applies a qual whose function is not leakproof only after the policy's own,
    /// so <c>@@</c> (<c>ts_match_vq</c>) becomes a filter over every message of the tenant unless a superuser ran
    /// <see cref="LeakproofStatement"/> in the catalog's database (a database administrator's decision; the catalog's
    /// role cannot). True also when row-level security is bypassed.
    /// </summary>
    public bool ContentSearchUsesIndex { get; private set; }

    /// <summary>
    /// The statement a superuser runs once in the catalog's database so content search uses its GIN index under
    /// row-level security: <c>ts_match_vq</c> raises no error that depends on the rows it reads, so marking it
    /// leakproof reveals nothing across the policy.
    /// </summary>
    public const string LeakproofStatement = "ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF";

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLockId}); CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());", cancellationToken).ConfigureAwait(false);
        var applied = new HashSet<int>();
        await using (var cmd = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, tx))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        foreach (var (version, name, sql) in Migrations.All.Where(m => !applied.Contains(m.Version)))
        {
            await ExecuteAsync(connection, tx, sql, cancellationToken).ConfigureAwait(false);
            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection, tx);
            record.Parameters.Add(new NpgsqlParameter { Value = version });
            record.Parameters.Add(new NpgsqlParameter { Value = name });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        await using var bypass = new NpgsqlCommand("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user", connection);
        RowLevelSecurityEnforced = await bypass.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is false;
        await using var leakproof = new NpgsqlCommand("SELECT proleakproof FROM pg_proc WHERE oid = 'ts_match_vq(tsvector, tsquery)'::regprocedure", connection);
        ContentSearchUsesIndex = !RowLevelSecurityEnforced || await leakproof.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
    }

    /// <inheritdoc />
    public async Task UpsertAsync(SessionRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);

        // The hot path of every append: the row-level-security scope and the upsert go in one round trip.
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(ScopeCommand(record.Tenant));
        batch.BatchCommands.Add(UpsertCommand(record));
        await ExecuteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlBatchCommand ScopeCommand(string tenant)
    {
        var scope = new NpgsqlBatchCommand("SELECT set_config('sessions.tenant', $1, false)");
        scope.Parameters.Add(new NpgsqlParameter { Value = tenant });
        return scope;
    }

    // A row's upsert; a row older (shorter) than the stored one changes nothing.
    private static NpgsqlBatchCommand UpsertCommand(SessionRecord record)
    {
        var upsert = new NpgsqlBatchCommand($"""
            INSERT INTO sessions ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            ON CONFLICT (tenant, project_key, session_id) DO UPDATE SET
                mtime = excluded.mtime, size = excluded.size, listed = excluded.listed, summary = excluded.summary,
                custom_title = excluded.custom_title, first_prompt = excluded.first_prompt, tag = excluded.tag, cwd = excluded.cwd,
                git_branch = excluded.git_branch, created_at = excluded.created_at, parent_session_id = excluded.parent_session_id,
                is_sidechain = excluded.is_sidechain, usage = coalesce(excluded.usage, sessions.usage)
            WHERE sessions.size <= excluded.size
            """);
        foreach (var v in new object?[] { record.Tenant, record.ProjectKey, record.SessionId, record.Mtime, record.Size, record.Listed, record.Summary, record.CustomTitle,
            record.FirstPrompt, record.Tag, record.Cwd, record.GitBranch, record.CreatedAt, record.ParentSessionId, record.IsSidechain, record.Usage })
        {
            upsert.Parameters.Add(new NpgsqlParameter { Value = PgValue(v) });
        }

        return upsert;
    }

    // A batch is one implicit transaction: all its commands commit, or none.
    private async Task ExecuteBatchAsync(NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public async Task<SessionRecord?> GetAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, $"SELECT {Columns} FROM sessions WHERE tenant = $1 AND project_key = $2 AND session_id = $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId);
        var rows = await ReadRecordsAsync(cmd, cancellationToken).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : null;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ProjectSummary>> ListProjectsAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, """
            SELECT project_key, count(*)::int, max(mtime),
                (SELECT cwd FROM sessions c WHERE c.tenant = s.tenant AND c.project_key = s.project_key AND c.listed AND c.cwd IS NOT NULL ORDER BY c.mtime DESC LIMIT 1)
            FROM sessions s WHERE tenant = $1 AND listed GROUP BY tenant, project_key ORDER BY max(mtime) DESC, project_key
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant);
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
        await using var cmd = await CommandAsync(tenant, $"""
            SELECT {Columns} FROM sessions WHERE tenant = $1 AND listed AND (
                strpos(lower(coalesce(custom_title, '') || E'\n' || coalesce(summary, '') || E'\n' || coalesce(first_prompt, '') || E'\n' || coalesce(tag, '')), lower($2)) > 0
                OR left(session_id, length($2)) = $2)
            ORDER BY mtime DESC, session_id DESC LIMIT $3
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, text, limit);
        return await ReadRecordsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> FindAsync(string tenant, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, $"SELECT {Columns} FROM sessions WHERE tenant = $1 AND session_id = $2 ORDER BY mtime DESC", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, sessionId);
        return await ReadRecordsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> ListForksAsync(string tenant, string projectKey, IReadOnlyCollection<string> parentSessionIds, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(parentSessionIds);
        if (parentSessionIds.Count == 0 || limit <= 0)
        {
            return [];
        }

        await using var cmd = await CommandAsync(tenant,
            $"SELECT {Columns} FROM sessions WHERE tenant = $1 AND project_key = $2 AND parent_session_id = ANY($3) ORDER BY mtime DESC, session_id DESC LIMIT $4", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, parentSessionIds.Take(1000).ToArray(), limit);
        return await ReadRecordsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<SessionPage> ListAsync(string tenant, string projectKey, SessionQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var after = query.Cursor is null ? ((long Mtime, string SessionId)?)null : CatalogCursor.Decode(query.Cursor);
        var sql = new StringBuilder($"SELECT {Columns} FROM sessions WHERE tenant = $1 AND project_key = $2");
        var args = new List<object?> { tenant, projectKey };
        if (!query.IncludeUnlisted)
        {
            sql.Append(" AND listed");
        }

        if (query.Tag is not null)
        {
            args.Add(query.Tag);
            sql.Append(CultureInfo.InvariantCulture, $" AND tag = ${args.Count}");
        }

        if (!string.IsNullOrEmpty(query.Text))
        {
            args.Add(query.Text);
            sql.Append(CultureInfo.InvariantCulture, $" AND strpos(lower(coalesce(custom_title, '') || E'\\n' || coalesce(summary, '') || E'\\n' || coalesce(first_prompt, '')), lower(${args.Count})) > 0");
        }

        if (after is { } a)
        {
            args.Add(a.Mtime);
            args.Add(a.SessionId);
            sql.Append(CultureInfo.InvariantCulture, $" AND (mtime, session_id) < (${args.Count - 1}, ${args.Count})");
        }

        args.Add(query.Limit + 1);
        sql.Append(CultureInfo.InvariantCulture, $" ORDER BY mtime DESC, session_id DESC LIMIT ${args.Count}");
        await using var cmd = await CommandAsync(tenant, sql.ToString(), cancellationToken).ConfigureAwait(false);
        Add(cmd, [.. args]);
        var items = await ReadRecordsAsync(cmd, cancellationToken).ConfigureAwait(false);
        string? next = null;
        if (items.Count > query.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = CatalogCursor.Encode(items[^1].Mtime, items[^1].SessionId);
        }

        return new SessionPage(items, next);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<(string SessionId, long Mtime)> ListMtimesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT session_id, mtime FROM sessions WHERE tenant = $1 AND project_key = $2 ORDER BY mtime DESC, session_id DESC", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return (reader.GetString(0), reader.GetInt64(1));
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        // One round trip, one implicit transaction: the row is locked first, so an index write of this session either
        // finished before (and the deletes below, with a snapshot taken after the lock, see its messages) or waits and
        // then finds no row (IndexMessagesAsync inserts only under a share lock of a row that still exists).
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        var scope = new NpgsqlBatchCommand("SELECT set_config('sessions.tenant', $1, false)");
        scope.Parameters.Add(new NpgsqlParameter { Value = tenant });
        var lockRow = new NpgsqlBatchCommand("SELECT 1 FROM sessions WHERE tenant = $1 AND project_key = $2 AND session_id = $3 FOR UPDATE");
        var delete = new NpgsqlBatchCommand("""
            WITH s AS (DELETE FROM summaries WHERE tenant = $1 AND project_key = $2 AND session_id = $3),
            i AS (DELETE FROM append_intents WHERE tenant = $1 AND project_key = $2 AND session_id = $3),
            x AS (DELETE FROM message_text WHERE tenant = $1 AND project_key = $2 AND session_id = $3),
            h AS (DELETE FROM holds WHERE tenant = $1 AND project_key = $2 AND session_id = $3),
            t AS (DELETE FROM trash WHERE tenant = $1 AND project_key = $2 AND session_id = $3 RETURNING 1),
            d AS (DELETE FROM sessions WHERE tenant = $1 AND project_key = $2 AND session_id = $3 RETURNING 1)
            SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM d)
            """);
        foreach (var command in new[] { lockRow, delete })
        {
            foreach (var v in new[] { tenant, projectKey, sessionId })
            {
                command.Parameters.Add(new NpgsqlParameter { Value = v });
            }
        }

        batch.BatchCommands.Add(scope);
        batch.BatchCommands.Add(lockRow);
        batch.BatchCommands.Add(delete);
        try
        {
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && reader.GetInt64(0) > 0;
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public async Task DeleteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "WITH s AS (DELETE FROM summaries WHERE tenant = $1), i AS (DELETE FROM append_intents WHERE tenant = $1), f AS (DELETE FROM unfinished_forks WHERE tenant = $1), x AS (DELETE FROM message_text WHERE tenant = $1), h AS (DELETE FROM holds WHERE tenant = $1), t AS (DELETE FROM trash WHERE tenant = $1), w AS (DELETE FROM row_writers WHERE tenant = $1) DELETE FROM sessions WHERE tenant = $1", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task IndexMessagesAsync(string tenant, string projectKey, string sessionId, IReadOnlyList<IndexedMessage> messages, long indexedLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        // One statement for the batch (the rows as arrays, unnested), only for a session the catalog has, under a lock
        // of its row (a delete of the session waits for it, or it for the delete: see DeleteAsync); the row notes how
        // far its messages are indexed.
        await using var cmd = await CommandAsync(tenant, """
            WITH p AS (UPDATE sessions SET indexed_size = GREATEST(indexed_size, $8) WHERE tenant = $1 AND project_key = $2 AND session_id = $3)
            INSERT INTO message_text (tenant, project_key, session_id, uuid, role, ts, text)
            SELECT $1, $2, $3, u, r, t, x FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[]) AS m(u, r, t, x)
            WHERE EXISTS (SELECT 1 FROM sessions WHERE tenant = $1 AND project_key = $2 AND session_id = $3 FOR KEY SHARE)
            ON CONFLICT (tenant, project_key, session_id, uuid) DO UPDATE SET role = excluded.role, ts = excluded.ts, text = excluded.text
            WHERE message_text.text IS DISTINCT FROM excluded.text
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId);
        cmd.Parameters.Add(new NpgsqlParameter { Value = messages.Select(m => m.Uuid).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = messages.Select(m => m.Role).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = messages.Select(m => m.Timestamp).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = messages.Select(m => (string)PgValue(m.Text)!).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = indexedLength });
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionKey>> ListUnindexedAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT project_key, session_id FROM sessions WHERE tenant = $1 AND indexed_size < size ORDER BY mtime DESC LIMIT $2", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, limit);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var keys = new List<SessionKey>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(new SessionKey(reader.GetString(0), reader.GetString(1)));
        }

        return keys;
    }

    /// <inheritdoc />
    /// <remarks>PostgreSQL full-text search (<c>simple</c> configuration: case folded, no stemming), ranked by
    /// <c>ts_rank</c>, snippets by <c>ts_headline</c>. The GIN index on <c>tsv</c> finds the matches when
    /// <see cref="ContentSearchUsesIndex"/>; otherwise a query reads every message of the tenant (docs/BENCHMARKS.md,
    /// issue 24).</remarks>
    public async Task<IReadOnlyList<SearchHit>> SearchMessagesAsync(string tenant, SearchQuery query, string? projectKey, int limit, int offset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        // With ts_match_vq leakproof, the tsquery is written inline: the planner folds to_tsquery of the parameter into a
        // constant, so the match is an index condition estimated from the word's statistics. Without, it is joined in
        // from a CTE, so the planner drives the scan from the tenant's sessions (measured faster than inline there,
        // where it chose a scan of every tenant's messages).
        var tsquery = ContentSearchUsesIndex ? "to_tsquery('simple', $2)" : "q.q";
        await using var cmd = await CommandAsync(tenant, $$"""
            WITH q AS (SELECT to_tsquery('simple', $2) AS q),
            hits AS (
                SELECT m.project_key, m.session_id, m.uuid, ts_rank(m.tsv, {{tsquery}}) AS score
                FROM message_text m CROSS JOIN q
                WHERE m.tenant = $1 AND m.tsv @@ {{tsquery}} AND ($3::text IS NULL OR m.project_key = $3)
                  AND EXISTS (SELECT 1 FROM sessions s WHERE s.tenant = m.tenant AND s.project_key = m.project_key AND s.session_id = m.session_id AND s.listed)
            ),
            ranked AS (
                SELECT project_key, session_id, max(score) AS best FROM hits GROUP BY project_key, session_id
                ORDER BY best DESC, project_key, session_id LIMIT $4 OFFSET $5
            ),
            top AS (
                SELECT h.*, r.best, row_number() OVER (PARTITION BY h.project_key, h.session_id ORDER BY h.score DESC, h.uuid) AS n
                FROM hits h JOIN ranked r ON r.project_key = h.project_key AND r.session_id = h.session_id
            )
            SELECT {{SearchRowColumns}}, top.uuid, mt.role, mt.ts,
                   ts_headline('simple', mt.text, q.q, 'StartSel={{SearchHit.Mark}}, StopSel={{SearchHit.Mark}}, MaxWords=24, MinWords=8, HighlightAll=false'),
                   top.best
            FROM top CROSS JOIN q
            JOIN message_text mt ON mt.tenant = $1 AND mt.project_key = top.project_key AND mt.session_id = top.session_id AND mt.uuid = top.uuid
            JOIN sessions s ON s.tenant = $1 AND s.project_key = top.project_key AND s.session_id = top.session_id
            WHERE top.n <= {{SearchHit.MessagesPerSession}}
            ORDER BY top.best DESC, top.project_key, top.session_id, top.n
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, TsQuery(query), projectKey, limit, offset);
        // Each session's row comes with its messages (one round trip, not one more per session found).
        var hits = new List<SearchHit>();
        List<MessageHit>? messages = null;
        var first = CatalogRows.SessionColumnCount;
        try
        {
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var (pk, sid) = (reader.GetString(1), reader.GetString(2));
                if (hits.Count == 0 || hits[^1].Session.ProjectKey != pk || hits[^1].Session.SessionId != sid)
                {
                    messages = [];
                    hits.Add(new SearchHit(CatalogRows.Session(reader), reader.GetFloat(first + 4), messages));
                }

                messages!.Add(new MessageHit(reader.GetString(first), reader.GetString(first + 1),
                    reader.IsDBNull(first + 2) ? null : reader.GetInt64(first + 2), reader.GetString(first + 3)));
            }
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }

        return hits;
    }

    // The session row's columns (CatalogRows.SessionColumns, 15 of them) of the search's final join, in that order.
    private static readonly string SearchRowColumns = string.Join(", ", Columns.Split(", ").Select(c => "s." + c));

    // The query as a tsquery: a phrase's words joined by <->, alternatives by |, groups and exclusions by &. Words are
    // letters and digits only, so none is read as an operator.
    private static string TsQuery(SearchQuery query)
    {
        static string Phrase(IReadOnlyList<string> words) => "(" + string.Join(" <-> ", words) + ")";
        var groups = query.Groups.Select(g => "(" + string.Join(" | ", g.Select(Phrase)) + ")");
        return string.Join(" & ", groups.Concat(query.Excluded.Select(x => "!" + Phrase(x))));
    }

    /// <inheritdoc />
    public async Task<AppendIntent?> AddAppendIntentAsync(AppendIntent intent, long notBefore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(intent);
        // The prune leaves this key's row alone: one statement must not both delete and upsert one row.
        await using (var cmd = await CommandAsync(intent.Tenant, """
            WITH p AS (DELETE FROM append_intents WHERE tenant = $1 AND project_key = $2 AND session_id = $3 AND at < $8 AND idempotency_key <> $5)
            INSERT INTO append_intents (tenant, project_key, session_id, subpath, idempotency_key, byte_offset, bytes, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $9)
            ON CONFLICT (tenant, project_key, session_id, subpath, idempotency_key) DO UPDATE SET byte_offset = $6, bytes = $7, at = $9 WHERE append_intents.at < $8
            """, cancellationToken).ConfigureAwait(false))
        {
            Add(cmd, intent.Tenant, intent.Key.ProjectKey, intent.Key.SessionId, intent.Key.Subpath ?? "", intent.IdempotencyKey, intent.Offset, intent.Bytes, notBefore, intent.At);
            if (await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false) == 1)
            {
                return null;
            }
        }

        await using var read = await CommandAsync(intent.Tenant, "SELECT byte_offset, bytes, at FROM append_intents WHERE tenant = $1 AND project_key = $2 AND session_id = $3 AND subpath = $4 AND idempotency_key = $5", cancellationToken).ConfigureAwait(false);
        Add(read, intent.Tenant, intent.Key.ProjectKey, intent.Key.SessionId, intent.Key.Subpath ?? "", intent.IdempotencyKey);
        await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? intent with { Offset = reader.GetInt64(0), Bytes = reader.GetInt64(1), At = reader.GetInt64(2) }
            : null;
    }

    /// <inheritdoc />
    public async Task SetAppendIntentAsync(AppendIntent intent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(intent);
        await using var cmd = await CommandAsync(intent.Tenant, """
            INSERT INTO append_intents (tenant, project_key, session_id, subpath, idempotency_key, byte_offset, bytes, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (tenant, project_key, session_id, subpath, idempotency_key) DO UPDATE SET byte_offset = $6, bytes = $7, at = $8
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, intent.Tenant, intent.Key.ProjectKey, intent.Key.SessionId, intent.Key.Subpath ?? "", intent.IdempotencyKey, intent.Offset, intent.Bytes, intent.At);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AddUnfinishedForkAsync(UnfinishedFork fork, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fork);
        await using var cmd = await CommandAsync(fork.Tenant, """
            INSERT INTO unfinished_forks (tenant, project_key, fork_id, parent_session_id, at) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (tenant, project_key, fork_id) DO UPDATE SET parent_session_id = $4, at = $5
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, fork.Tenant, fork.ProjectKey, fork.ForkId, fork.ParentSessionId, fork.At);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task RemoveUnfinishedForkAsync(string tenant, string projectKey, string forkId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "DELETE FROM unfinished_forks WHERE tenant = $1 AND project_key = $2 AND fork_id = $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, forkId);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<UnfinishedFork>> ListUnfinishedForksAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT project_key, fork_id, parent_session_id, at FROM unfinished_forks WHERE tenant = $1 ORDER BY at, project_key, fork_id", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var forks = new List<UnfinishedFork>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            forks.Add(new UnfinishedFork(tenant, reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }

        return forks;
    }

    /// <inheritdoc />
    public async Task<SummaryRecord?> GetSummaryAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT session_id, mtime, data_text, version FROM summaries WHERE tenant = $1 AND project_key = $2 AND session_id = $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new SummaryRecord(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3))
            : null;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<SummaryRecord> ListSummariesAsync(string tenant, string projectKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT session_id, mtime, data_text, version FROM summaries WHERE tenant = $1 AND project_key = $2 ORDER BY session_id", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new SummaryRecord(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3));
        }
    }

    /// <inheritdoc />
    public async Task<long> PutSummaryAsync(string tenant, string projectKey, string sessionId, string dataJson, long mtime, long expectedVersion, long notBefore, CancellationToken cancellationToken)
    {
        // The opaque data is kept verbatim as text (jsonb alone would reorder keys) and as jsonb for queries.
        await using var cmd = await CommandAsync(tenant, expectedVersion == 0
            ? "INSERT INTO summaries (tenant, project_key, session_id, mtime, data, data_text, version) VALUES ($1, $2, $3, $4, $6::jsonb, $5, 1) ON CONFLICT DO NOTHING"
            : "UPDATE summaries SET mtime = $4, data = $6::jsonb, data_text = $5, version = version + 1 WHERE tenant = $1 AND project_key = $2 AND session_id = $3 AND version = $7 AND mtime >= $8", cancellationToken).ConfigureAwait(false);
        if (expectedVersion == 0)
        {
            Add(cmd, tenant, projectKey, sessionId, mtime, dataJson, JsonbSafe(dataJson));
        }
        else
        {
            Add(cmd, tenant, projectKey, sessionId, mtime, dataJson, JsonbSafe(dataJson), expectedVersion, notBefore);
        }

        if (await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false) == 1)
        {
            return expectedVersion + 1;
        }

        var current = await GetSummaryAsync(tenant, projectKey, sessionId, cancellationToken).ConfigureAwait(false);
        throw new ConflictException("summary_version_conflict", $"The summary of session '{sessionId}' changed since version {expectedVersion}; re-read it and retry.",
            expectedVersion.ToString(CultureInfo.InvariantCulture), (current?.Version ?? 0).ToString(CultureInfo.InvariantCulture));
    }

    /// <inheritdoc />
    /// <remarks>All in one transaction (one round trip).</remarks>
    public async Task WriteSummariesAsync(IReadOnlyList<TenantSummary> summaries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(summaries);
        if (summaries.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        foreach (var group in summaries.GroupBy(s => s.Tenant, StringComparer.Ordinal))
        {
            batch.BatchCommands.Add(ScopeCommand(group.Key));
            foreach (var (tenant, projectKey, s) in group)
            {
                var write = new NpgsqlBatchCommand(
                    "INSERT INTO summaries (tenant, project_key, session_id, mtime, data, data_text, version) VALUES ($1, $2, $3, $4, $6::jsonb, $5, $7) " +
                    "ON CONFLICT (tenant, project_key, session_id) DO UPDATE SET mtime = excluded.mtime, data = excluded.data, data_text = excluded.data_text, version = excluded.version");
                foreach (var v in new object?[] { tenant, projectKey, s.SessionId, s.Mtime, s.DataJson, JsonbSafe(s.DataJson), s.Version })
                {
                    write.Parameters.Add(new NpgsqlParameter { Value = PgValue(v) });
                }

                batch.BatchCommands.Add(write);
            }
        }

        await ExecuteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<string> ListTenantsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync("*", "SELECT DISTINCT tenant FROM sessions ORDER BY tenant", cancellationToken).ConfigureAwait(false);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.GetString(0);
        }
    }

    /// <inheritdoc />
    public async Task<int?> GetCleanupPeriodDaysAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT cleanup_period_days FROM tenant_policies WHERE tenant = $1", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is int days ? days : null;
    }

    /// <inheritdoc />
    public async Task SetCleanupPeriodDaysAsync(string tenant, int days, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "INSERT INTO tenant_policies (tenant, cleanup_period_days) VALUES ($1, $2) ON CONFLICT (tenant) DO UPDATE SET cleanup_period_days = excluded.cleanup_period_days", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, days);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SetHoldAsync(string tenant, string projectKey, string sessionId, string reason, long now, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "INSERT INTO holds (tenant, project_key, session_id, reason, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant, project_key, session_id) DO UPDATE SET reason = excluded.reason", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId, reason, now);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RemoveHoldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "DELETE FROM holds WHERE tenant = $1 AND project_key = $2 AND session_id = $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId);
        return await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false) > 0;
    }

    // Sessions of $1 last written before $2, without a hold row and without one of the hold tags in $3.
    private const string ExpiredFilter = "s.tenant = $1 AND s.mtime < $2"
        + " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.tenant = s.tenant AND h.project_key = s.project_key AND h.session_id = s.session_id)"
        + " AND (s.tag IS NULL OR NOT (s.tag = ANY($3))) AND coalesce(s.restored_at, 0) < $2";

    /// <inheritdoc />
    public async Task<IReadOnlyList<SessionRecord>> ListExpiredAsync(string tenant, long cutoff, IReadOnlyCollection<string> holdTags, int limit, ExpiredCursor? after, CancellationToken cancellationToken)
    {
        var page = after is null ? "" : " AND (s.mtime, s.project_key, s.session_id) > ($5, $6, $7)";
        await using var cmd = await CommandAsync(tenant, $"SELECT {Columns} FROM sessions s WHERE {ExpiredFilter}{page} ORDER BY s.mtime, s.project_key, s.session_id LIMIT $4", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, cutoff, holdTags.ToArray(), limit);
        if (after is not null)
        {
            Add(cmd, after.Mtime, after.ProjectKey, after.SessionId);
        }

        return await ReadRecordsAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> IsHeldAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT 1 FROM holds WHERE tenant = $1 AND project_key = $2 AND session_id = $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId);
        return await ScalarAsync(cmd, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public async Task<bool> MoveToTrashAsync(TrashedSession entry, string node, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        await using var cmd = await CommandAsync(entry.Tenant, """
            WITH d AS (DELETE FROM sessions s WHERE s.tenant = $1 AND s.project_key = $2 AND s.session_id = $3 AND s.mtime = $4 AND s.size = $5
                AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.tenant = $1 AND h.project_key = $2 AND h.session_id = $3)
                RETURNING s.tenant, s.project_key, s.session_id),
            m AS (DELETE FROM summaries x USING d WHERE x.tenant = d.tenant AND x.project_key = d.project_key AND x.session_id = d.session_id
                RETURNING x.mtime, x.data_text, x.version),
            t AS (INSERT INTO trash (tenant, project_key, session_id, last_write, size, trashed_at, title, summary_mtime, summary_data, summary_version)
                SELECT d.tenant, d.project_key, d.session_id, $4, $5, $6, $7, m.mtime, m.data_text, m.version FROM d LEFT JOIN m ON true)
            INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
            SELECT tenant, project_key, session_id, $4, $5, $6, $8, 'retention' FROM d
            RETURNING 1
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, entry.Tenant, entry.ProjectKey, entry.SessionId, entry.LastWrite, entry.Size, entry.TrashedAt);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)entry.Title ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        Add(cmd, node);
        return await ScalarAsync(cmd, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public async Task<TrashedSession?> GetTrashedAsync(string tenant, string projectKey, string sessionId, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, $"SELECT {CatalogRows.TrashColumns} FROM trash WHERE tenant = $1 AND project_key = $2 AND session_id = $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId);
        return (await ReadTrashAsync(cmd, cancellationToken).ConfigureAwait(false)).FirstOrDefault();
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<TrashedSession>> ListTrashAsync(string tenant, long trashedBefore, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, $"SELECT {CatalogRows.TrashColumns} FROM trash WHERE tenant = $1 AND trashed_at < $2 ORDER BY trashed_at, project_key, session_id LIMIT $3", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, trashedBefore, limit);
        return await ReadTrashAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> RestoreFromTrashAsync(SessionRecord row, long now, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        // One statement: the trash row goes, its sidecar comes back (its jsonb copy derived from the verbatim text as
        // JsonbSafe does), the restore is audited and the session row returns (restored_at keeps it out of the next sweep).
        await using var cmd = await CommandAsync(row.Tenant, $"""
            WITH t AS (DELETE FROM trash WHERE tenant = $1 AND project_key = $2 AND session_id = $3 RETURNING *),
            m AS (INSERT INTO summaries (tenant, project_key, session_id, mtime, data, data_text, version)
                SELECT tenant, project_key, session_id, summary_mtime, replace(summary_data, '\u0000', '\ufffd')::jsonb, summary_data, summary_version
                FROM t WHERE summary_data IS NOT NULL
                ON CONFLICT DO NOTHING),
            a AS (INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
                SELECT tenant, project_key, session_id, last_write, size, $16, $17, 'restore' FROM t)
            INSERT INTO sessions ({Columns}, restored_at)
            SELECT $1, $2, $3, $4::bigint, $5::bigint, $6::boolean, $7::text, $8::text, $9::text, $10::text, $11::text, $12::text, $13::bigint, $14::text, $15::boolean, $18::text, $16::bigint FROM t
            ON CONFLICT (tenant, project_key, session_id) DO UPDATE SET restored_at = excluded.restored_at
            RETURNING 1
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, row.Tenant, row.ProjectKey, row.SessionId, row.Mtime, row.Size, row.Listed, row.Summary, row.CustomTitle,
            row.FirstPrompt, row.Tag, row.Cwd, row.GitBranch, row.CreatedAt, row.ParentSessionId, row.IsSidechain, now, actor, row.Usage);
        return await ScalarAsync(cmd, cancellationToken).ConfigureAwait(false) is not null;
    }

    /// <inheritdoc />
    public async Task<bool> PurgeTrashedAsync(string tenant, string projectKey, string sessionId, long now, string node, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, """
            WITH t AS (DELETE FROM trash WHERE tenant = $1 AND project_key = $2 AND session_id = $3 RETURNING *),
            x AS (DELETE FROM message_text WHERE tenant = $1 AND project_key = $2 AND session_id = $3)
            INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason)
            SELECT tenant, project_key, session_id, last_write, size, $4, $5, 'purge' FROM t
            RETURNING 1
            """, cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId, now, node);
        return await ScalarAsync(cmd, cancellationToken).ConfigureAwait(false) is not null;
    }

    private async Task<List<TrashedSession>> ReadTrashAsync(NpgsqlCommand cmd, CancellationToken cancellationToken)
    {
        var result = new List<TrashedSession>();
        try
        {
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(CatalogRows.Trashed(r));
            }
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }

        return result;
    }

    private async Task<object?> ScalarAsync(NpgsqlCommand cmd, CancellationToken cancellationToken)
    {
        try
        {
            return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AuditRecord>> ListAuditAsync(string tenant, int limit, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, $"SELECT {CatalogRows.AuditColumns} FROM retention_audit WHERE tenant = $1 ORDER BY deleted_at DESC, id DESC LIMIT $2", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, limit);
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
        await using var cmd = await UnscopedCommandAsync("INSERT INTO tenants (tenant, created_at, max_sessions, max_bytes, max_entry_bytes, requests_per_minute) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant.Tenant, tenant.CreatedAt, tenant.Limits.MaxSessions, tenant.Limits.MaxBytes, tenant.Limits.MaxEntryBytes, tenant.Limits.RequestsPerMinute);
        if (await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false) == 0)
        {
            throw new ConflictException("tenant_exists", $"Tenant '{tenant.Tenant}' exists already.", "absent", "present");
        }
    }

    /// <inheritdoc />
    public async Task<TenantRecord?> GetTenantAsync(string tenant, CancellationToken cancellationToken) =>
        (await QueryTenantsAsync("WHERE tenant = $1", tenant, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<TenantRecord>> ListTenantRecordsAsync(CancellationToken cancellationToken) => QueryTenantsAsync("", null, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> SetLimitsAsync(string tenant, TenantLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        await using var cmd = await UnscopedCommandAsync("UPDATE tenants SET max_sessions = $2, max_bytes = $3, max_entry_bytes = $4, requests_per_minute = $5 WHERE tenant = $1", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, limits.MaxSessions, limits.MaxBytes, limits.MaxEntryBytes, limits.RequestsPerMinute);
        return await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task DeleteTenantRecordAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "WITH k AS (DELETE FROM api_keys WHERE tenant = $1), p AS (DELETE FROM tenant_policies WHERE tenant = $1) DELETE FROM tenants WHERE tenant = $1", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<TenantUsage> GetUsageAsync(string tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "SELECT count(*), coalesce(sum(size), 0)::bigint FROM sessions WHERE tenant = $1", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return new TenantUsage(reader.GetInt64(0), reader.GetInt64(1));
    }

    /// <inheritdoc />
    public async Task CreateKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var cmd = await UnscopedCommandAsync("INSERT INTO api_keys (key_id, tenant, secret_hash, scopes, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)", cancellationToken).ConfigureAwait(false);
        Add(cmd, key.KeyId, key.Tenant, key.SecretHash, string.Join(' ', key.Scopes), key.Label, key.CreatedAt);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<ApiKeyRecord?> FindKeyAsync(string keyId, CancellationToken cancellationToken) =>
        (await QueryKeysAsync("WHERE key_id = $1", keyId, cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <inheritdoc />
    public Task<IReadOnlyList<ApiKeyRecord>> ListKeysAsync(string tenant, CancellationToken cancellationToken) =>
        QueryKeysAsync("WHERE tenant = $1 ORDER BY created_at DESC, key_id", tenant, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> RevokeKeyAsync(string tenant, string keyId, long now, CancellationToken cancellationToken)
    {
        await using var cmd = await UnscopedCommandAsync("UPDATE api_keys SET revoked_at = $3 WHERE key_id = $1 AND tenant = $2 AND revoked_at IS NULL", cancellationToken).ConfigureAwait(false);
        Add(cmd, keyId, tenant, now);
        return await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task AuditAsync(string tenant, string projectKey, string sessionId, long size, long now, string actor, string reason, CancellationToken cancellationToken)
    {
        await using var cmd = await CommandAsync(tenant, "INSERT INTO retention_audit (tenant, project_key, session_id, last_write, size, deleted_at, node, reason) VALUES ($1, $2, $3, $5, $4, $5, $6, $7) ON CONFLICT DO NOTHING", cancellationToken).ConfigureAwait(false);
        Add(cmd, tenant, projectKey, sessionId, size, now, actor, reason);
        await ExecuteAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private async Task<IReadOnlyList<TenantRecord>> QueryTenantsAsync(string where, string? tenant, CancellationToken cancellationToken)
    {
        await using var cmd = await UnscopedCommandAsync($"SELECT {CatalogRows.TenantColumns} FROM tenants {where} ORDER BY tenant", cancellationToken).ConfigureAwait(false);
        if (tenant is not null)
        {
            Add(cmd, tenant);
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
        await using var cmd = await UnscopedCommandAsync($"SELECT {CatalogRows.KeyColumns} FROM api_keys {where}", cancellationToken).ConfigureAwait(false);
        Add(cmd, value);
        var result = new List<ApiKeyRecord>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result.Add(CatalogRows.Key(r));
        }

        return result;
    }

    // A command on its own pooled connection with sessions.tenant set for row-level security; disposing the command
    // returns the connection (whose session state the pool resets).
    // The scope statement is the first use of a pooled connection: when it meets a connection an outage broke, nothing
    // of the caller's command has run, so the pool is dropped and the command gets one fresh connection.
    private async Task<NpgsqlCommand> CommandAsync(string tenantScope, string sql, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await using (var scope = new NpgsqlCommand("SELECT set_config('sessions.tenant', $1, false)", connection))
                {
                    scope.Parameters.Add(new NpgsqlParameter { Value = tenantScope });
                    await scope.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                return new OwningCommand(sql, connection);
            }
            catch (NpgsqlException ex) when (IsOutage(ex))
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                if (attempt > 0)
                {
                    throw Unavailable(ex);
                }

                ResetConnections();
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    // A command on tables without row-level security (tenants, api_keys): no scope, one round trip less.
    private async Task<NpgsqlCommand> UnscopedCommandAsync(string sql, CancellationToken cancellationToken) =>
        new OwningCommand(sql, await OpenAsync(cancellationToken).ConfigureAwait(false));

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> ExecuteAsync(NpgsqlCommand cmd, CancellationToken cancellationToken)
    {
        try
        {
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }
    }

    private static void Add(NpgsqlCommand cmd, params object?[] values)
    {
        foreach (var v in values)
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = PgValue(v) });
        }
    }

    /// <inheritdoc />
    /// <remarks>Text cannot hold NUL: each is stored as U+FFFD (see <see cref="PgValue"/>).</remarks>
    public SessionRecord AsStored(SessionRecord row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return row with
        {
            Summary = Stored(row.Summary), CustomTitle = Stored(row.CustomTitle), FirstPrompt = Stored(row.FirstPrompt), Tag = Stored(row.Tag),
            Cwd = Stored(row.Cwd), GitBranch = Stored(row.GitBranch), ParentSessionId = Stored(row.ParentSessionId), Usage = Stored(row.Usage),
        };

        static string? Stored(string? text) => PgValue(text) as string;
    }

    /// <summary>
    /// A parameter value PostgreSQL accepts: text cannot hold NUL (22021), so a NUL in catalog text (a title, a
    /// prompt, a tag, a filter) is stored and compared as U+FFFD. Transcripts keep the original bytes.
    /// </summary>
    private static object PgValue(object? value) => value switch
    {
        null => DBNull.Value,
        string s when s.Contains('\0', StringComparison.Ordinal) => s.Replace('\0', '\uFFFD'),
        _ => value,
    };

    // jsonb refuses the escape \u0000 (22P05); the jsonb copy of a sidecar (for queries) holds U+FFFD there, while
    // data_text keeps the verbatim JSON the SDK reads back.
    private static string JsonbSafe(string json) => json.Contains("\\u0000", StringComparison.Ordinal) ? json.Replace("\\u0000", "\\ufffd", StringComparison.Ordinal) : json;

    private async Task<List<SessionRecord>> ReadRecordsAsync(NpgsqlCommand cmd, CancellationToken cancellationToken)
    {
        var result = new List<SessionRecord>();
        try
        {
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                result.Add(CatalogRows.Session(r));
            }
        }
        catch (NpgsqlException ex) when (IsOutage(ex))
        {
            throw Unavailable(ex);
        }

        return result;
    }

    /// <summary>
    /// Whether an error means PostgreSQL is down, restarting or unreachable (a 503 and a retry later), not a fault of the
    /// query: Npgsql's transient errors, a broken connection, and the shutdown codes 57P01–57P03 that a pooled connection
    /// from before a restart raises on first use.
    /// </summary>
    public static bool IsOutage(Exception exception) => exception is NpgsqlException ex && (ex.IsTransient
        || ex is PostgresException { SqlState: "57P01" or "57P02" or "57P03" } || (ex is PostgresException p && p.SqlState.StartsWith("08", StringComparison.Ordinal))
        || ex.InnerException is System.Net.Sockets.SocketException or IOException or EndOfStreamException);

    /// <summary>
    /// Forgets the pooled connections after an outage: a restart does not clear Npgsql's pool, and each idle connection
    /// from before it would fail its next request once (npgsql/npgsql#5073).
    /// </summary>
    public void ResetConnections() => _dataSource.Clear();

    /// <summary>
    /// The session store's error for a PostgreSQL outage met anywhere (a path of ours, or a grain's call into us): a
    /// <see cref="StorageUnavailableException"/> (503), after forgetting the pooled connections; null when
    /// <paramref name="exception"/> is not an outage (<see cref="IsOutage"/>).
    /// </summary>
    public StorageUnavailableException? TranslateOutage(Exception exception)
    {
        if (!IsOutage(exception))
        {
            return null;
        }

        ResetConnections();
        return new StorageUnavailableException($"The PostgreSQL catalog is unavailable: {exception.Message}", exception);
    }

    private StorageUnavailableException Unavailable(NpgsqlException ex) => TranslateOutage(ex)!;

    /// <summary>A command that returns its connection to the pool when it is disposed.</summary>
    private sealed class OwningCommand : NpgsqlCommand
    {
        private readonly NpgsqlConnection _owned;

        public OwningCommand(string sql, NpgsqlConnection connection)
            : base(sql, connection) => _owned = connection;

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (disposing)
            {
                _owned.Dispose();
            }
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync().ConfigureAwait(false);
            await _owned.DisposeAsync().ConfigureAwait(false);
        }
    }
}
