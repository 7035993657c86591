namespace Sessions.Cluster.Catalog.PostgreSql;

/// <summary>The catalog schema as numbered migrations; a version is applied once and never edited afterwards.</summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<(int Version, string Name, string Sql)> All =
    [
        (1, "sessions and summaries", """
            CREATE TABLE sessions (
                tenant text NOT NULL,
                project_key text NOT NULL,
                session_id text NOT NULL,
                mtime bigint NOT NULL,
                size bigint NOT NULL,
                listed boolean NOT NULL,
                summary text,
                custom_title text,
                first_prompt text,
                tag text,
                cwd text,
                git_branch text,
                created_at bigint,
                parent_session_id text,
                is_sidechain boolean NOT NULL DEFAULT false,
                PRIMARY KEY (tenant, project_key, session_id)
            );
            CREATE INDEX ix_sessions_listing ON sessions (tenant, project_key, mtime DESC, session_id DESC);
            CREATE INDEX ix_sessions_last_write ON sessions (tenant, mtime);
            CREATE INDEX ix_sessions_id ON sessions (tenant, session_id);
            CREATE TABLE summaries (
                tenant text NOT NULL,
                project_key text NOT NULL,
                session_id text NOT NULL,
                mtime bigint NOT NULL,
                data jsonb NOT NULL,
                data_text text NOT NULL,
                version bigint NOT NULL,
                PRIMARY KEY (tenant, project_key, session_id)
            );
            """),
        (2, "retention: claims, holds, policies, audit", """
            ALTER TABLE sessions ADD COLUMN claimed_by text, ADD COLUMN claimed_at bigint;
            CREATE TABLE holds (
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL, reason text NOT NULL, created_at bigint NOT NULL,
                PRIMARY KEY (tenant, project_key, session_id)
            );
            CREATE TABLE tenant_policies (tenant text PRIMARY KEY, cleanup_period_days int NOT NULL CHECK (cleanup_period_days >= 1));
            CREATE TABLE retention_audit (
                id bigserial PRIMARY KEY,
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL,
                last_write bigint NOT NULL, size bigint NOT NULL, deleted_at bigint NOT NULL, node text NOT NULL, reason text NOT NULL,
                UNIQUE (tenant, project_key, session_id, last_write)
            );
            CREATE INDEX ix_retention_audit_tenant ON retention_audit (tenant, deleted_at DESC);
            """),
        (3, "tenants, API keys, row-level security", """
            CREATE TABLE tenants (
                tenant text PRIMARY KEY, created_at bigint NOT NULL,
                max_sessions bigint, max_bytes bigint, max_entry_bytes int, requests_per_minute int
            );
            CREATE TABLE api_keys (
                key_id text PRIMARY KEY, tenant text NOT NULL, secret_hash text NOT NULL, scopes text NOT NULL,
                label text NOT NULL, created_at bigint NOT NULL, revoked_at bigint
            );
            CREATE INDEX ix_api_keys_tenant ON api_keys (tenant);
            DO $$
            DECLARE t text;
            BEGIN
                FOREACH t IN ARRAY ARRAY['sessions', 'summaries', 'holds', 'tenant_policies', 'retention_audit'] LOOP
                    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
                    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
                    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (current_setting(''sessions.tenant'', true) IN (tenant, ''*'')) WITH CHECK (current_setting(''sessions.tenant'', true) IN (tenant, ''*''))', t);
                END LOOP;
            END $$;
            """),
        (4, "copy-on-write forks", """
            CREATE TABLE pending_forks (
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL, parent_session_id text NOT NULL,
                parent_length bigint NOT NULL, up_to_message_id text, title text, parent_title text, fork_time bigint NOT NULL,
                PRIMARY KEY (tenant, project_key, session_id)
            );
            CREATE INDEX ix_pending_forks_parent ON pending_forks (tenant, project_key, parent_session_id);
            ALTER TABLE pending_forks ENABLE ROW LEVEL SECURITY;
            ALTER TABLE pending_forks FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON pending_forks
                USING (current_setting('sessions.tenant', true) IN (tenant, '*')) WITH CHECK (current_setting('sessions.tenant', true) IN (tenant, '*'));
            """),
        (5, "trash before purge; retention claims removed (session grains serialize expiry)", """
            ALTER TABLE sessions DROP COLUMN claimed_by, DROP COLUMN claimed_at, ADD COLUMN restored_at bigint;
            CREATE TABLE trash (
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL,
                last_write bigint NOT NULL, size bigint NOT NULL, trashed_at bigint NOT NULL, title text,
                summary_mtime bigint, summary_data text, summary_version bigint,
                PRIMARY KEY (tenant, project_key, session_id)
            );
            CREATE INDEX ix_trash_due ON trash (tenant, trashed_at);
            ALTER TABLE trash ENABLE ROW LEVEL SECURITY;
            ALTER TABLE trash FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON trash
                USING (current_setting('sessions.tenant', true) IN (tenant, '*')) WITH CHECK (current_setting('sessions.tenant', true) IN (tenant, '*'));
            ALTER TABLE retention_audit DROP CONSTRAINT IF EXISTS retention_audit_tenant_project_key_session_id_last_write_key;
            """),
        (6, "forks are grains seeded from grain state; the catalog's pending forks go", """
            DROP TABLE pending_forks;
            """),
        (7, "append intents: a keyed append without uuids is found again after fail-over", """
            CREATE TABLE append_intents (
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL, subpath text NOT NULL,
                idempotency_key text NOT NULL, byte_offset bigint NOT NULL, bytes bigint NOT NULL, at bigint NOT NULL,
                PRIMARY KEY (tenant, project_key, session_id, subpath, idempotency_key)
            );
            ALTER TABLE append_intents ENABLE ROW LEVEL SECURITY;
            ALTER TABLE append_intents FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON append_intents
                USING (current_setting('sessions.tenant', true) IN (tenant, '*')) WITH CHECK (current_setting('sessions.tenant', true) IN (tenant, '*'));
            """),
        (8, "content search: each message's words with a generated tsvector and its GIN index", """
            CREATE TABLE message_text (
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL, uuid text NOT NULL,
                role text NOT NULL, ts bigint, text text NOT NULL,
                tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED,
                PRIMARY KEY (tenant, project_key, session_id, uuid)
            );
            CREATE INDEX ix_message_text_tsv ON message_text USING gin (tsv);
            ALTER TABLE message_text ENABLE ROW LEVEL SECURITY;
            ALTER TABLE message_text FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON message_text
                USING (current_setting('sessions.tenant', true) IN (tenant, '*')) WITH CHECK (current_setting('sessions.tenant', true) IN (tenant, '*'));
            """),
        (9, "unfinished forks: the catalog names the forks whose grain state may remain (no listing of grain storage)", """
            CREATE TABLE unfinished_forks (
                tenant text NOT NULL, project_key text NOT NULL, fork_id text NOT NULL, parent_session_id text NOT NULL, at bigint NOT NULL,
                PRIMARY KEY (tenant, project_key, fork_id)
            );
            ALTER TABLE unfinished_forks ENABLE ROW LEVEL SECURITY;
            ALTER TABLE unfinished_forks FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON unfinished_forks
                USING (current_setting('sessions.tenant', true) IN (tenant, '*')) WITH CHECK (current_setting('sessions.tenant', true) IN (tenant, '*'));
            """),
        (10, "how far each session's messages are indexed, so a start finds what a lost index queue left out", """
            ALTER TABLE sessions ADD COLUMN indexed_size bigint NOT NULL DEFAULT 0;
            UPDATE sessions SET indexed_size = size;
            """),
        (11, "content search: word statistics fine enough that a rare word's matches are estimated as few (joined by index)", """
            ALTER TABLE message_text ALTER COLUMN tsv SET STATISTICS 1000;
            """),
        (12, "rows written behind the grain: which silo may hold a session's row back", """
            CREATE TABLE row_writers (
                tenant text NOT NULL, project_key text NOT NULL, session_id text NOT NULL, writer text NOT NULL, since bigint NOT NULL,
                PRIMARY KEY (tenant, project_key, session_id, writer)
            );
            CREATE INDEX ix_row_writers_since ON row_writers (since);
            ALTER TABLE row_writers ENABLE ROW LEVEL SECURITY;
            ALTER TABLE row_writers FORCE ROW LEVEL SECURITY;
            CREATE POLICY tenant_isolation ON row_writers
                USING (current_setting('sessions.tenant', true) IN (tenant, '*')) WITH CHECK (current_setting('sessions.tenant', true) IN (tenant, '*'));
            """),
        (13, "a session's forks found through an index of the parent links (the console's lineage), not a project scan", """
            CREATE INDEX IF NOT EXISTS ix_sessions_parent ON sessions (tenant, project_key, parent_session_id) WHERE parent_session_id IS NOT NULL;
            """),
        (14, "each session's models and token totals (SessionUsage as JSON), kept by its grain for the console's list", """
            ALTER TABLE sessions ADD COLUMN IF NOT EXISTS usage text;
            """),
    ];
}
