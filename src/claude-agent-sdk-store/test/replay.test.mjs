// The SDK's importSessionToStore replays a local file into the store; a rename and a tag made locally between two
// imports must reach the store once, and the store must then answer like the local file (no line lost, none doubled).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { importSessionToStore, renameSession, tagSession, getSessionInfo, listSessions } from '@anthropic-ai/claude-agent-sdk';
import { ClusterSessionStore } from '../dist/index.js';
import { newStore, url } from './helpers.mjs';

const configDir = process.env.CLAUDE_CONFIG_DIR;
if (!configDir) throw new Error('CLAUDE_CONFIG_DIR must point at a copy of ../shared/fixtures/claude-code');
const projectKey = process.cwd().replace(/[^a-zA-Z0-9]/g, '-');
const sessionIds = readdirSync(join(configDir, 'projects')).flatMap((p) =>
  readdirSync(join(configDir, 'projects', p)).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length)),
);

// Every batch of a replay must hold a uuid it shares with the store to be placed in the log (AppendPlan): a batch of
// uuid-less lines alone cannot be told from new lines (the SDK contract appends uuid-less entries), so a new tag sent
// right after a replay is never dropped. The SDK's default batches (500 entries or 1 MiB) hold one on every fixture,
// the 3 MB session's byte-sized batches included.
test('a local rename and tag between imports reach the store once', async () => {
  const store = newStore();
  for (const id of sessionIds) {
    const key = { projectKey, sessionId: id };
    await importSessionToStore(id, store);
    const before = await store.load(key);
    const title = 'renamed locally';
    const tag = 'local';
    await renameSession(id, title);
    await tagSession(id, tag);

    await importSessionToStore(id, store);
    const after = await store.load(key);
    assert.equal(after.length, before.length + 2, `exactly the two new lines were added to ${id}`);
    assert.deepEqual(after.slice(0, before.length), before);
    assert.equal(after.filter((e) => e.type === 'custom-title' && e.customTitle === title).length, 1);

    const info = await getSessionInfo(id, { sessionStore: store });
    assert.equal(info.customTitle, title);
    assert.equal(info.tag, tag);
    const listed = (await listSessions({ sessionStore: store })).find((s) => s.sessionId === id);
    assert.equal(listed.customTitle, title, 'the listing (sidecar) and the transcript agree');

    await importSessionToStore(id, store);
    assert.deepEqual(await store.load(key), after, `a third import of ${id} changes nothing`);
  }
});

test('a base URL that is not the server fails with a clear error instead of load() returning null', async () => {
  const wrong = new ClusterSessionStore({ url: `${url}/api` });
  await assert.rejects(wrong.load({ projectKey: 'p', sessionId: 's' }), (error) => {
    assert.equal(error.code, 'route_not_found');
    assert.match(error.message, /base URL/);
    return true;
  });
});
