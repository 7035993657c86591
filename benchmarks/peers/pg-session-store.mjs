// A Claude Agent SDK SessionStore over PostgreSQL in the shape of the SDK's reference Postgres adapter: one row per
// entry (jsonb), one INSERT statement per append, an ordered SELECT for load, listSessions from the rows' mtimes. It
// keeps no summary sidecar (no listSessionSummaries), so the SDK's listSessions loads each session. Written for the
// benchmarks; durability is PostgreSQL's own (synchronous_commit as the server has it, or off when asked).
import pg from 'pg';

export class PgSessionStore {
  #pool;

  constructor(pool) {
    this.#pool = pool;
  }

  /** Connects (a pool of `max` connections), creates the table if missing; `durable: false` turns synchronous_commit off. */
  static async create(connectionString, { durable = true, max = 16 } = {}) {
    const pool = new pg.Pool({ connectionString, max, ...(durable ? {} : { options: '-c synchronous_commit=off' }) });
    await pool.query(`CREATE TABLE IF NOT EXISTS session_entries (
        seq bigserial PRIMARY KEY,
        project_key text NOT NULL,
        session_id text NOT NULL,
        subpath text NOT NULL DEFAULT '',
        entry jsonb NOT NULL,
        mtime bigint NOT NULL)`);
    await pool.query('CREATE INDEX IF NOT EXISTS session_entries_key ON session_entries (project_key, session_id, subpath, seq)');
    return new PgSessionStore(pool);
  }

  async append(key, entries) {
    if (entries.length === 0) return;
    await this.#pool.query(
      `INSERT INTO session_entries (project_key, session_id, subpath, entry, mtime)
       SELECT $1, $2, $3, e.entry, $5 FROM unnest($4::jsonb[]) WITH ORDINALITY AS e(entry, n) ORDER BY e.n`,
      [key.projectKey, key.sessionId, key.subpath ?? '', entries.map((e) => JSON.stringify(e)), Date.now()],
    );
  }

  async load(key) {
    const { rows } = await this.#pool.query(
      'SELECT entry FROM session_entries WHERE project_key = $1 AND session_id = $2 AND subpath = $3 ORDER BY seq',
      [key.projectKey, key.sessionId, key.subpath ?? ''],
    );
    return rows.length === 0 ? null : rows.map((r) => r.entry);
  }

  async listSessions(projectKey) {
    const { rows } = await this.#pool.query(
      `SELECT session_id, max(mtime) AS mtime FROM session_entries WHERE project_key = $1 AND subpath = '' GROUP BY session_id`,
      [projectKey],
    );
    return rows.map((r) => ({ sessionId: r.session_id, mtime: Number(r.mtime) }));
  }

  async delete(key) {
    if (key.subpath === undefined) {
      await this.#pool.query('DELETE FROM session_entries WHERE project_key = $1 AND session_id = $2', [key.projectKey, key.sessionId]);
    } else {
      await this.#pool.query('DELETE FROM session_entries WHERE project_key = $1 AND session_id = $2 AND subpath = $3', [key.projectKey, key.sessionId, key.subpath]);
    }
  }

  async listSubkeys(key) {
    const { rows } = await this.#pool.query(
      `SELECT DISTINCT subpath FROM session_entries WHERE project_key = $1 AND session_id = $2 AND subpath <> ''`,
      [key.projectKey, key.sessionId],
    );
    return rows.map((r) => r.subpath);
  }

  async close() {
    await this.#pool.end();
  }
}
