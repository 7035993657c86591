import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import {
  foldSessionSummary,
  type SessionKey,
  type SessionStore,
  type SessionStoreEntry,
  type SessionSummaryEntry,
} from '@anthropic-ai/claude-agent-sdk';

/** Options of {@link ClusterSessionStore}. */
export interface ClusterSessionStoreOptions {
  /** Server base URL, e.g. `http://127.0.0.1:5080`. */
  url: string;
  /** API key, sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Bearer token (alternative to `apiKey`), sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Tenant, sent as `X-Sessions-Tenant`; omit to let the server decide (the key's tenant). */
  tenant?: string;
  /** Timeout of one HTTP request in ms (default 15 000). */
  requestTimeoutMs?: number;
  /**
   * Time budget of one store call including retries, in ms (default 45 000). Kept under the SDK's 60 s append
   * timeout so a retried call never outlives the SDK's wait.
   */
  callBudgetMs?: number;
  /** A `fetch` to send requests with; by default Node's own HTTP client on keep-alive connections (faster than fetch). */
  fetch?: typeof fetch;
}

/** An error answer of the server, carrying its problem-details `code`. */
export class ClusterSessionStoreError extends Error {
  constructor(
    message: string,
    /** HTTP status (0 when the server could not be reached). */
    readonly status: number,
    /** Problem-details `code`, e.g. `invalid_key`, `session_not_found`, `summary_version_conflict`. */
    readonly code: string,
    /** The whole problem-details body, when the server sent one (a summary conflict's `current` sidecar is in it). */
    readonly problem?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ClusterSessionStoreError';
  }

  /** True when retrying may help: unreachable server, timeouts, 429 and 5xx answers. */
  get isTransient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

interface StoredSummary extends SessionSummaryEntry {
  version: number;
}

interface AppendResult {
  appended: number;
  duplicates: number;
  length: number;
  mtime: number;
  /**
   * What became of the sidecar the append carried: stored, or refused with the current one to fold over, or refused
   * without one (fold the whole transcript, replacing `version`).
   */
  summary?: { stored: boolean; version: number; current?: StoredSummary };
}

/** Sidecars this adapter wrote last, per session, so the next append folds without reading (bounded, oldest dropped). */
const HELD_SUMMARIES = 4096;

/**
 * A Claude Agent SDK `SessionStore` backed by a Sessions.Cluster server.
 *
 * - `append` persists entries in order; the server deduplicates by `uuid`, so the adapter's retries and
 *   `importSessionToStore` replays never duplicate a line. The batch is folded into the session's summary sidecar
 *   with the SDK's own `foldSessionSummary` over the sidecar version this adapter last wrote, and both travel in one
 *   request: the server stores the fold, stamped with the append's mtime, only if the sidecar is still at that version
 *   (compare-and-swap), so concurrent appends from several hosts never lose a sidecar update. On a conflict the answer
 *   carries the current sidecar and the adapter folds again over it (one more request per conflict, no read).
 * - `load` returns `null` for a key never written; `delete` of a main key cascades to its subpaths.
 * - Transient failures (unreachable server, 429, 5xx) are retried with exponential backoff within `callBudgetMs`.
 */
export class ClusterSessionStore implements SessionStore {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #requestTimeoutMs: number;
  readonly #callBudgetMs: number;
  readonly #fetch: typeof fetch | undefined;
  readonly #httpAgent = new http.Agent({ keepAlive: true });
  readonly #httpsAgent = new https.Agent({ keepAlive: true });
  readonly #held = new Map<string, StoredSummary>();

  constructor(options: ClusterSessionStoreOptions) {
    if (!options?.url) throw new TypeError('ClusterSessionStore: options.url is required');
    this.#base = options.url.replace(/\/+$/, '');
    this.#headers = { accept: 'application/json' };
    const token = options.apiKey ?? options.bearerToken;
    if (token) this.#headers.authorization = `Bearer ${token}`;
    if (options.tenant) this.#headers['x-sessions-tenant'] = options.tenant;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#callBudgetMs = options.callBudgetMs ?? 45_000;
    this.#fetch = options.fetch;
  }

  async append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One key per call, the same on its retries: a retry of a call whose answer was lost writes nothing.
    const headers = { 'idempotency-key': randomUUID() };
    if (key.subpath !== undefined) {
      await this.#call('POST', entriesPath(key), JSON.stringify(entries), { headers });
      return;
    }

    const id = heldKey(key);
    const held = this.#held.get(id);
    const folded = foldSessionSummary(held && entryOf(held), key, entries);
    const body = JSON.stringify({ entries, summary: { version: held?.version ?? 0, data: folded.data } });
    const result = (await this.#call('POST', entriesPath(key), body, { headers })) as AppendResult;
    if (result.summary === undefined) {
      // Nothing to store it against (a session kept in memory only): no sidecar exists.
      this.#held.delete(id);
    } else if (result.summary.stored) {
      this.#hold(id, { sessionId: key.sessionId, mtime: result.mtime, data: folded.data, version: result.summary.version });
    } else {
      await this.#foldSummary(key, entries, result.mtime, result.summary.current ?? null, result.summary.version);
    }
  }

  async load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    // The raw JSONL, parsed line by line: most lines are ASCII and stay one-byte strings, where decoding the whole answer
    // as one string would make every parsed value a two-byte string (about 3× slower for a 3 MB transcript).
    return (await this.#call('GET', `${sessionPath(key)}/transcript${subpathQuery(key)}`, undefined, { notFound: null, jsonl: true })) as SessionStoreEntry[] | null;
  }

  async listSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    return (await this.#call('GET', `/v1/projects/${enc(projectKey)}/store/sessions`)) as Array<{ sessionId: string; mtime: number }>;
  }

  async listSessionSummaries(projectKey: string): Promise<SessionSummaryEntry[]> {
    return (await this.#call('GET', `/v1/projects/${enc(projectKey)}/store/summaries`)) as SessionSummaryEntry[];
  }

  async delete(key: SessionKey): Promise<void> {
    if (key.subpath === undefined) this.#held.delete(heldKey(key));
    await this.#call('DELETE', sessionPath(key) + subpathQuery(key), undefined, { notFound: undefined });
  }

  async listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    return (await this.#call('GET', `${sessionPath(key)}/subkeys`)) as string[];
  }

  // Fold-write of the summary sidecar under the server's compare-and-swap (If-Match version), over `current`, or, when
  // the server answered none, over nothing from the whole transcript (this batch included), replacing `version`: the
  // transcript holds entries no fold has seen (written through the CLI or the HTTP API, or a sidecar write lost in a
  // crash). Every conflict answer carries the then-current sidecar, so no attempt reads it first.
  async #foldSummary(key: SessionKey, entries: SessionStoreEntry[], mtime: number, current: StoredSummary | null, version: number): Promise<void> {
    const path = `${sessionPath(key)}/summary`;
    let whole: SessionStoreEntry[] | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      if (!current) whole ??= (await this.load(key)) ?? entries;
      // Concurrent folds may land out of order: the sidecar keeps the newest store mtime.
      const folded = foldSessionSummary(current ? entryOf(current) : undefined, key, current ? entries : whole!, { mtime: Math.max(mtime, current?.mtime ?? 0) });
      try {
        const answer = (await this.#call('PUT', path, JSON.stringify({ mtime: folded.mtime, data: folded.data }), {
          headers: { 'if-match': `"${current?.version ?? version}"` },
        })) as { version: number };
        this.#hold(heldKey(key), { ...folded, version: answer.version });
        return;
      } catch (error) {
        if (!(error instanceof ClusterSessionStoreError) || error.code !== 'summary_version_conflict') throw error;
        current = (error.problem?.current as StoredSummary | undefined) ?? null;
        version = Number(error.problem?.actual ?? 0);
        await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * Math.random());
      }
    }
    this.#held.delete(heldKey(key));
    throw new ClusterSessionStoreError(`summary of ${key.sessionId} kept changing; gave up after 50 attempts`, 409, 'summary_version_conflict');
  }

  #hold(id: string, summary: StoredSummary): void {
    this.#held.delete(id);
    this.#held.set(id, summary);
    if (this.#held.size > HELD_SUMMARIES) this.#held.delete(this.#held.keys().next().value as string);
  }

  async #call(
    method: string,
    path: string,
    body?: string,
    options: CallOptions = {},
  ): Promise<unknown> {
    const deadline = Date.now() + this.#callBudgetMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(method, path, body, options);
      } catch (error) {
        const transient = error instanceof ClusterSessionStoreError && error.isTransient;
        const wait = Math.min(2_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
        if (!transient || Date.now() + wait + this.#requestTimeoutMs > deadline) throw error;
        await sleep(wait);
      }
    }
  }

  async #once(method: string, path: string, body: string | undefined, options: CallOptions): Promise<unknown> {
    let response: { status: number; bytes: Uint8Array };
    try {
      const headers = { ...this.#headers, ...(body !== undefined && { 'content-type': 'application/json' }), ...options.headers };
      response = await this.#send(method, this.#base + path, headers, body);
    } catch (error) {
      throw new ClusterSessionStoreError(`${method} ${path}: ${(error as Error).message}`, 0, 'unreachable');
    }
    const ok = response.status >= 200 && response.status < 300;
    if (ok && options.jsonl) return parseJsonl(response.bytes);
    const text = utf8.decode(response.bytes);
    if (response.status === 404 && 'notFound' in options && problemCode(text) !== 'route_not_found') {
      return options.notFound;
    }
    if (!ok) {
      let code = `http_${response.status}`;
      let detail = text;
      let problem: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed === null || typeof parsed !== 'object') throw new TypeError('not a problem-details object');
        problem = parsed as Record<string, unknown>;
        code = typeof problem.code === 'string' ? problem.code : code;
        detail = String(problem.detail ?? problem.title ?? text);
      } catch {
        // Not a problem-details body: keep the raw text.
      }
      const hint = code === 'route_not_found' ? ` (is ${this.#base} the Sessions.Cluster server's base URL, without /v1?)` : '';
      throw new ClusterSessionStoreError(`${method} ${path}: ${response.status} ${code}: ${detail}${hint}`, response.status, code, problem);
    }
    return text.length === 0 ? undefined : JSON.parse(text);
  }

  // One request and its whole answer. Node's own HTTP client on a keep-alive agent unless a fetch was given: about
  // 0.5 ms less per request than fetch here, and a 3 MB answer in a third of the time.
  async #send(method: string, url: string, headers: Record<string, string>, body: string | undefined): Promise<{ status: number; bytes: Uint8Array }> {
    if (this.#fetch) {
      const response = await this.#fetch(url, { method, headers, body, signal: AbortSignal.timeout(this.#requestTimeoutMs) });
      return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()) };
    }
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const agent = target.protocol === 'https:' ? this.#httpsAgent : this.#httpAgent;
    return await new Promise((resolve, reject) => {
      const request = client.request(target, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, bytes: Buffer.concat(chunks) });
        });
        response.on('error', fail);
      });
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${this.#requestTimeoutMs} ms`)), this.#requestTimeoutMs);
      function fail(error: Error): void {
        clearTimeout(timer);
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
  }
}

/** Options of one request: the answer for a 404 (else an error), extra headers, and whether the answer is JSONL. */
interface CallOptions {
  notFound?: null | undefined;
  headers?: Record<string, string>;
  jsonl?: boolean;
}

const utf8 = new TextDecoder();

// JSONL bytes to values, one line at a time; blank lines (and a line's CR) are skipped as the server's load skips them.
function parseJsonl(bytes: Uint8Array): unknown[] {
  const values: unknown[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    const line = utf8.decode(bytes.subarray(start, end));
    if (line.trim().length > 0) values.push(JSON.parse(line));
    start = end + 1;
  }
  return values;
}

function heldKey(key: { projectKey: string; sessionId: string }): string {
  return `${key.projectKey}\u0000${key.sessionId}`;
}

function entryOf(summary: StoredSummary): SessionSummaryEntry {
  return { sessionId: summary.sessionId, mtime: summary.mtime, data: summary.data };
}

function problemCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

function enc(value: string): string {
  return encodeURIComponent(value);
}

function sessionPath(key: { projectKey: string; sessionId: string }): string {
  return `/v1/projects/${enc(key.projectKey)}/sessions/${enc(key.sessionId)}`;
}

function subpathQuery(key: SessionKey): string {
  return key.subpath === undefined ? '' : `?subpath=${enc(key.subpath)}`;
}

function entriesPath(key: SessionKey): string {
  return `${sessionPath(key)}/entries${subpathQuery(key)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
