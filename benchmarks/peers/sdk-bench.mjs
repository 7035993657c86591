// Drives one SessionStore through the Claude Agent SDK's own functions and prints what it measured as one JSON object.
// The same run measures both stores with the same inputs: the reference-shaped PgSessionStore (./pg-session-store.mjs)
// and Sessions.Cluster's ClusterSessionStore (src/claude-agent-sdk-store, built by the benchmark driver first).
//   node sdk-bench.mjs '<json>'   with { store: "pg"|"ours", target: <pg URL | server URL>, durable, tenant,
//     jsonl, batches, bigSessionId, small, smallSessionId, sessions, writers, ops: ["append1", "append16", "populate",
//     "load", "messages", "info", "fork", "list", "import"], importCwd }
// append1 replays the 3 MB transcript as the SDK's mirror batches (store.append), one batch at a time; append16 does the
// same for `writers` sessions at once; populate appends `sessions` small sessions (one append each, 16 at once); load is
// store.load; messages, info, fork, list are getSessionMessages, getSessionInfo, forkSession (and the fork's messages),
// listSessions with { sessionStore, dir }. import copies every session of the Claude Code folder CLAUDE_CONFIG_DIR
// (the project folder of importCwd) into the store with the SDK's importSessionToStore, 16 sessions at once.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { forkSession, getSessionInfo, getSessionMessages, importSessionToStore, listSessions } from '@anthropic-ai/claude-agent-sdk';

const config = JSON.parse(process.argv[2]);
const ops = new Set(config.ops);
const result = {};

const store = config.store === 'pg'
  ? await (await import('./pg-session-store.mjs')).PgSessionStore.create(config.target, { durable: config.durable })
  : new (await import('../../src/claude-agent-sdk-store/dist/index.js')).ClusterSessionStore({ url: config.target, tenant: config.tenant });

// The SDK keys a folder's sessions by the folder's path with every character but ASCII letters and digits replaced by
// '-' (short paths, as these are).
const projectOf = (dir) => dir.replace(/[^a-zA-Z0-9]/g, '-');
const dir = mkdtempSync(join(tmpdir(), 'sdkbench-'));
const listDir = mkdtempSync(join(tmpdir(), 'sdkbench-list-'));
const projectKey = projectOf(dir);

const lines = readFileSync(config.jsonl, 'utf8').split('\n').filter((l) => l.trim());
const batches = [];
{
  let at = 0;
  for (const n of JSON.parse(readFileSync(config.batches, 'utf8'))) { batches.push(lines.slice(at, at + n).map((l) => JSON.parse(l))); at += n; }
}
const entries = batches.reduce((n, b) => n + b.length, 0);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const percentile = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };
async function timed(fn) { const start = performance.now(); const value = await fn(); return [performance.now() - start, value]; }
async function replay(sessionId, latencies) {
  for (const batch of batches) latencies.push((await timed(() => store.append({ projectKey, sessionId }, batch)))[0]);
}
// Median of n runs after one warm-up run.
async function repeat(n, fn) {
  await fn();
  const times = [];
  for (let i = 0; i < n; i++) times.push((await timed(fn))[0]);
  return median(times);
}
const rate = (count, ms, latencies) => ({ perSecond: count / (ms / 1000), ms, ...(latencies && { p50: median(latencies), p99: percentile(latencies, 99) }) });

// The stores' processes start cold (a .NET server compiles its hot paths again in the background for its first
// several thousand requests; node-postgres and V8 warm up too): one untimed replay into a session of its own first.
if (['append1', 'append16', 'populate'].some((op) => ops.has(op))) {
  await replay(`${config.bigSessionId.slice(0, -2)}99`, []);
}

if (ops.has('append1')) {
  const latencies = [];
  const [ms] = await timed(() => replay(config.bigSessionId, latencies));
  result.append1 = rate(entries, ms, latencies);
}

if (ops.has('append16')) {
  const latencies = [];
  const [ms] = await timed(() => Promise.all(Array.from({ length: config.writers }, (_, w) => replay(`${config.bigSessionId.slice(0, -2)}${String(w).padStart(2, '0')}`, latencies))));
  result.append16 = rate(entries * config.writers, ms, latencies);
}

if (ops.has('populate')) {
  const template = readFileSync(config.small, 'utf8');
  const listProject = projectOf(listDir);
  let next = 0;
  const [ms] = await timed(() => Promise.all(Array.from({ length: 16 }, async () => {
    while (next < config.sessions) {
      const sessionId = randomUUID();
      next++;
      const session = template.split(config.smallSessionId).join(sessionId).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
      await store.append({ projectKey: listProject, sessionId }, session);
    }
  })));
  result.populate = { ms, sessions: config.sessions };
}

if (ops.has('import')) {
  const folder = join(process.env.CLAUDE_CONFIG_DIR, 'projects', projectOf(config.importCwd));
  const ids = readdirSync(folder).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length));
  let next = 0;
  const [ms] = await timed(() => Promise.all(Array.from({ length: 16 }, async () => {
    while (next < ids.length) await importSessionToStore(ids[next++], store, { dir: config.importCwd });
  })));
  const project = projectOf(config.importCwd);
  const stored = (await store.listSessions(project)).length;
  if (stored < ids.length) throw new Error(`importSessionToStore left ${stored} of ${ids.length} sessions in the store under ${project}`);
  result.import = { ms, sessions: ids.length };
}

const options = { dir, sessionStore: store };
if (ops.has('load')) result.load = { ms: await repeat(11, () => store.load({ projectKey, sessionId: config.bigSessionId })) };
if (ops.has('messages')) {
  const messages = await getSessionMessages(config.bigSessionId, options);
  if (messages.length === 0) throw new Error(`getSessionMessages found nothing under ${projectKey}: the project key is not the SDK's`);
  result.messages = { ms: await repeat(11, () => getSessionMessages(config.bigSessionId, options)), count: messages.length };
}
if (ops.has('info')) {
  if (!(await getSessionInfo(config.bigSessionId, options))) throw new Error(`getSessionInfo found nothing under ${projectKey}`);
  result.info = { ms: await repeat(11, () => getSessionInfo(config.bigSessionId, options)) };
}
if (ops.has('fork')) {
  const forks = [];
  result.fork = { ms: await repeat(5, async () => forks.push((await forkSession(config.bigSessionId, options)).sessionId)) };
  let next = 0;
  result.forkMessages = { ms: await repeat(5, () => getSessionMessages(forks[next++], options)) };
}
if (ops.has('list')) {
  const listed = await listSessions({ dir: listDir, sessionStore: store });
  if (listed.length !== config.sessions) throw new Error(`listSessions found ${listed.length} sessions, not ${config.sessions}`);
  result.list = { ms: await repeat(3, () => listSessions({ dir: listDir, sessionStore: store })), count: listed.length };
}

await store.close?.();
console.log(JSON.stringify(result));
