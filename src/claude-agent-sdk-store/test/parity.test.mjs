// Every session of CLAUDE_CONFIG_DIR (the real fixtures) is imported with the SDK's importSessionToStore into the
// SDK's InMemorySessionStore and into ours; every SDK session function, called with sessionStore, must then give
// the same answer for both, except for fresh uuids and mtimes.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  InMemorySessionStore,
  importSessionToStore,
  listSessions,
  getSessionInfo,
  getSessionMessages,
  listSubagents,
  renameSession,
  tagSession,
  forkSession,
  deleteSession,
} from '@anthropic-ai/claude-agent-sdk';
import { newStore } from './helpers.mjs';

const configDir = process.env.CLAUDE_CONFIG_DIR;
if (!configDir) throw new Error('CLAUDE_CONFIG_DIR must point at a copy of ../shared/fixtures/claude-code');
const sessionIds = readdirSync(join(configDir, 'projects')).flatMap((p) =>
  readdirSync(join(configDir, 'projects', p)).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length)),
);

// Without `dir`, importSessionToStore and the session functions use the project key derived from this process's
// cwd (the SDK's default: every character outside [a-zA-Z0-9] becomes '-').
const projectKey = process.cwd().replace(/[^a-zA-Z0-9]/g, '-');
const listKeyOf = () => projectKey;

const memory = new InMemorySessionStore();
const ours = newStore();

before(async () => {
  assert.ok(sessionIds.length >= 10, 'the fixtures hold at least 10 sessions');
  for (const id of sessionIds) {
    await importSessionToStore(id, memory);
    await importSessionToStore(id, ours);
  }
  assert.ok(memory.getEntries({ projectKey, sessionId: sessionIds[0] }).length > 0, `the SDK filed sessions under ${projectKey}`);
});

const withoutTimes = (info) => {
  if (!info) return info;
  const { lastModified, ...rest } = info;
  return rest;
};

// Fresh uuids, the fork's session id and the fork time differ by design: give them stable names.
// Entries are compared after a JSON round trip, the one invariant the SDK requires of a store (keys whose value is
// undefined, kept by InMemorySessionStore, vanish in any real store).
function normalize(stored, forkId) {
  const entries = JSON.parse(JSON.stringify(stored));
  const names = new Map([[forkId, '<fork>']]);
  for (const e of entries) if (typeof e.uuid === 'string' && !names.has(e.uuid)) names.set(e.uuid, `<uuid${names.size}>`);
  const replace = (v) =>
    typeof v === 'string' ? (names.get(v) ?? v) : Array.isArray(v) ? v.map(replace) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replace(x)])) : v;
  const last = entries.findLastIndex((e) => e.forkedFrom);
  return entries.map((e, i) => {
    const copy = replace(e);
    if (i === last || copy.type === 'custom-title' || copy.type === 'content-replacement') delete copy.timestamp;
    return copy;
  });
}

test('importSessionToStore replayed twice leaves every transcript unchanged', async () => {
  const key = (id) => ({ projectKey: (listKeyOf(id)), sessionId: id });
  const before = await Promise.all(sessionIds.map((id) => ours.load(key(id))));
  for (const id of sessionIds) await importSessionToStore(id, ours);
  const after = await Promise.all(sessionIds.map((id) => ours.load(key(id))));
  assert.deepEqual(after, before);
  assert.ok(before.every((entries) => entries && entries.length > 0));
});

test('listSessions equals the InMemorySessionStore answer', async () => {
  const a = (await listSessions({ sessionStore: memory })).map(withoutTimes);
  const b = (await listSessions({ sessionStore: ours })).map(withoutTimes);
  const byId = (x, y) => x.sessionId.localeCompare(y.sessionId);
  assert.deepEqual(b.sort(byId), a.sort(byId));
  assert.equal(a.length, sessionIds.length);
});

test('getSessionInfo, getSessionMessages and listSubagents equal the InMemorySessionStore answers', async () => {
  for (const id of sessionIds) {
    assert.deepEqual(await getSessionInfo(id, { sessionStore: ours }), await getSessionInfo(id, { sessionStore: memory }), `info of ${id}`);
    assert.deepEqual(await getSessionMessages(id, { sessionStore: ours }), await getSessionMessages(id, { sessionStore: memory }), `messages of ${id}`);
    assert.deepEqual(
      (await listSubagents(id, { sessionStore: ours })).sort(),
      (await listSubagents(id, { sessionStore: memory })).sort(),
      `subagents of ${id}`,
    );
  }
});

test('forkSession, with and without upToMessageId, equals the InMemorySessionStore fork up to fresh uuids', async () => {
  let compared = 0;
  for (const id of sessionIds) {
    const messages = await getSessionMessages(id, { sessionStore: memory });
    const points = [undefined, messages[0]?.uuid, messages[Math.floor(messages.length / 2)]?.uuid].filter((p, i) => i === 0 || p);
    for (const upToMessageId of points) {
      const options = upToMessageId ? { upToMessageId } : {};
      const a = await forkSession(id, { sessionStore: memory, ...options });
      const b = await forkSession(id, { sessionStore: ours, ...options });
      const key = (forkId) => ({ projectKey: listKeyOf(id), sessionId: forkId });
      assert.deepEqual(normalize(await ours.load(key(b.sessionId)), b.sessionId), normalize(await memory.load(key(a.sessionId)), a.sessionId), `fork of ${id} at ${upToMessageId ?? 'end'}`);
      // A fork whose first entry is also its last is stamped with the fork time, so createdAt is that time.
      const forkInfo = async (forkId, store) => {
        const info = withoutTimes(await getSessionInfo(forkId, { sessionStore: store }));
        if (info.createdAt > Date.now() - 600_000) delete info.createdAt;
        return info;
      };
      assert.deepEqual(await forkInfo(b.sessionId, ours), { ...(await forkInfo(a.sessionId, memory)), sessionId: b.sessionId });
      compared++;
    }
  }
  assert.ok(compared >= 25, `only ${compared} forks compared`);
});

test('renameSession and tagSession equal the InMemorySessionStore results', async () => {
  for (const id of sessionIds.slice(0, 4)) {
    for (const store of [memory, ours]) {
      await renameSession(id, `  Renamed ${id.slice(0, 4)}  `, { sessionStore: store });
      await tagSession(id, 'review', { sessionStore: store });
    }
    assert.deepEqual(withoutTimes(await getSessionInfo(id, { sessionStore: ours })), withoutTimes(await getSessionInfo(id, { sessionStore: memory })));
    for (const store of [memory, ours]) await tagSession(id, null, { sessionStore: store });
    const info = await getSessionInfo(id, { sessionStore: ours });
    assert.equal(info.tag, undefined);
    assert.deepEqual(withoutTimes(info), withoutTimes(await getSessionInfo(id, { sessionStore: memory })));
  }
  const a = (await listSessions({ sessionStore: memory })).map(withoutTimes);
  const b = (await listSessions({ sessionStore: ours })).map(withoutTimes);
  const byId = (x, y) => x.sessionId.localeCompare(y.sessionId);
  assert.deepEqual(b.filter((s) => sessionIds.includes(s.sessionId)).sort(byId), a.filter((s) => sessionIds.includes(s.sessionId)).sort(byId));
});

test('deleteSession removes the session and its subagents from both stores alike', async () => {
  const id = sessionIds.find((s) => s.startsWith('4d5611e5')) ?? sessionIds[0];
  for (const store of [memory, ours]) await deleteSession(id, { sessionStore: store });
  const key = { projectKey: listKeyOf(id), sessionId: id };
  assert.equal(await ours.load(key), null);
  assert.deepEqual(await ours.listSubkeys(key), []);
  assert.equal(await getSessionInfo(id, { sessionStore: ours }), await getSessionInfo(id, { sessionStore: memory }));
  assert.ok(!(await listSessions({ sessionStore: ours })).some((s) => s.sessionId === id));
});

