// The SessionStore contracts documented on the SDK's SessionStore type, against a live server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterSessionStore, ClusterSessionStoreError } from '../dist/index.js';
import { foldSessionSummary } from '@anthropic-ai/claude-agent-sdk';
import { entry, newStore, url } from './helpers.mjs';

test('append then load returns the same entries in order, deep-equal', async () => {
  const store = newStore();
  const key = { projectKey: 'proj', sessionId: 'sess' };
  const entries = [entry('a', { extra: { nested: [1, 2.5, true, null] } }), { type: 'custom-title', customTitle: 'no uuid' }, entry('b')];
  await store.append(key, entries);
  assert.deepEqual(await store.load(key), entries);
});

test('load of a key never written is null', async () => {
  assert.equal(await newStore().load({ projectKey: 'proj', sessionId: 'never' }), null);
});

test('multiple appends keep call order; append([]) is a no-op', async () => {
  const store = newStore();
  const key = { projectKey: 'proj', sessionId: 'order' };
  await store.append(key, [entry('1')]);
  await store.append(key, []);
  await store.append(key, [entry('2'), entry('3')]);
  assert.deepEqual((await store.load(key)).map((e) => e.uuid), ['1', '2', '3']);
  await store.append({ projectKey: 'proj', sessionId: 'empty' }, []);
  assert.equal(await store.load({ projectKey: 'proj', sessionId: 'empty' }), null);
});

test('subpaths are independent of the main transcript', async () => {
  const store = newStore();
  const main = { projectKey: 'proj', sessionId: 'sess' };
  const sub = { ...main, subpath: 'subagents/agent-1' };
  await store.append(main, [entry('m')]);
  await store.append(sub, [entry('s')]);
  assert.deepEqual((await store.load(main)).map((e) => e.uuid), ['m']);
  assert.deepEqual((await store.load(sub)).map((e) => e.uuid), ['s']);
});

test('projectKey isolates: the same session id under two project keys are two sessions', async () => {
  const store = newStore();
  await store.append({ projectKey: 'a', sessionId: 'same' }, [entry('in-a')]);
  await store.append({ projectKey: 'b', sessionId: 'same' }, [entry('in-b')]);
  assert.deepEqual((await store.load({ projectKey: 'a', sessionId: 'same' })).map((e) => e.uuid), ['in-a']);
  assert.deepEqual((await store.load({ projectKey: 'b', sessionId: 'same' })).map((e) => e.uuid), ['in-b']);
});

test('listSessions has main transcripts only', async () => {
  const store = newStore();
  await store.append({ projectKey: 'p', sessionId: 's1' }, [entry('1')]);
  await store.append({ projectKey: 'p', sessionId: 's1', subpath: 'subagents/agent-x' }, [entry('x')]);
  await store.append({ projectKey: 'p', sessionId: 's2' }, [entry('2')]);
  const listed = await store.listSessions('p');
  assert.deepEqual(listed.map((s) => s.sessionId).sort(), ['s1', 's2']);
  for (const s of listed) assert.ok(Number.isInteger(s.mtime) && s.mtime > 0);
});

test('delete of the main key cascades to subpaths; delete of a subpath removes only it', async () => {
  const store = newStore();
  const main = { projectKey: 'p', sessionId: 'del' };
  await store.append(main, [entry('m')]);
  await store.append({ ...main, subpath: 'subagents/agent-1' }, [entry('1')]);
  await store.append({ ...main, subpath: 'subagents/agent-2' }, [entry('2')]);
  await store.delete({ ...main, subpath: 'subagents/agent-1' });
  assert.equal(await store.load({ ...main, subpath: 'subagents/agent-1' }), null);
  assert.notEqual(await store.load({ ...main, subpath: 'subagents/agent-2' }), null);
  assert.notEqual(await store.load(main), null);
  await store.delete(main);
  assert.equal(await store.load(main), null);
  assert.equal(await store.load({ ...main, subpath: 'subagents/agent-2' }), null);
  assert.deepEqual(await store.listSessions('p'), []);
  await store.delete(main); // deleting again is a harmless no-op
});

test('listSubkeys has subpaths only', async () => {
  const store = newStore();
  const main = { projectKey: 'p', sessionId: 'subs' };
  await store.append(main, [entry('m')]);
  await store.append({ ...main, subpath: 'subagents/agent-a' }, [entry('a')]);
  await store.append({ ...main, subpath: 'subagents/nested/agent-b' }, [entry('b')]);
  assert.deepEqual((await store.listSubkeys(main)).sort(), ['subagents/agent-a', 'subagents/nested/agent-b']);
});

test('the summary sidecar mtime equals the listSessions mtime', async () => {
  const store = newStore();
  const key = { projectKey: 'p', sessionId: 'sidecar' };
  await store.append(key, [entry('1', { cwd: '/x' })]);
  await store.append(key, [{ type: 'custom-title', customTitle: 'Named', sessionId: 'sidecar' }]);
  const [listed] = await store.listSessions('p');
  const [summary] = await store.listSessionSummaries('p');
  assert.equal(summary.sessionId, 'sidecar');
  assert.equal(summary.mtime, listed.mtime);
  assert.equal(summary.data.customTitle, 'Named');
  assert.equal(summary.data.cwd, '/x');
});

test('uuid is the idempotency key: a replayed batch adds nothing', async () => {
  const store = newStore();
  const key = { projectKey: 'p', sessionId: 'idem' };
  const batch = [entry('1'), entry('2')];
  await store.append(key, batch);
  await store.append(key, batch);
  assert.deepEqual((await store.load(key)).map((e) => e.uuid), ['1', '2']);
});

test('errors carry the server problem-details code', async () => {
  const store = newStore();
  await assert.rejects(store.append({ projectKey: 'a/b', sessionId: 's' }, [entry('1')]), (error) => {
    assert.ok(error instanceof ClusterSessionStoreError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'invalid_key');
    assert.match(error.message, /projectKey/);
    return true;
  });
});

test('transient failures are retried with backoff and never duplicate entries', async () => {
  let failures = 2;
  const flaky = async (input, init) => {
    if (init?.method === 'POST' && failures-- > 0) {
      // The request reaches the server, but the answer is lost: the retry must not duplicate.
      await fetch(input, init);
      throw new TypeError('fetch failed: connection reset');
    }
    return fetch(input, init);
  };
  const tenant = `ts-flaky-${Date.now()}`;
  const store = new ClusterSessionStore({ url, tenant, fetch: flaky });
  const key = { projectKey: 'p', sessionId: 'flaky' };
  await store.append(key, [entry('1'), entry('2')]);
  assert.deepEqual((await newStore(tenant).load(key)).map((e) => e.uuid), ['1', '2']);
});

test('an unreachable server fails within the call budget with a transient error', async () => {
  const store = new ClusterSessionStore({ url: 'http://127.0.0.1:9', callBudgetMs: 1500, requestTimeoutMs: 500 });
  const started = Date.now();
  await assert.rejects(store.load({ projectKey: 'p', sessionId: 's' }), (error) => error instanceof ClusterSessionStoreError && error.isTransient);
  assert.ok(Date.now() - started < 5000);
});

test('two adapter instances appending to one session concurrently lose nothing and fold every batch into the sidecar', async () => {
  const tenant = `ts-race-${Date.now()}`;
  const a = newStore(tenant);
  const b = newStore(tenant);
  const key = { projectKey: 'p', sessionId: 'race' };
  const batches = 15;
  const writer = async (store, name) => {
    for (let i = 0; i < batches; i++) {
      await store.append(key, [entry(`${name}-${i}-a`, { cwd: '/race' }), entry(`${name}-${i}-b`), { type: 'tag', tag: `${name}${i}`, sessionId: 'race' }]);
    }
  };
  await Promise.all([writer(a, 'A'), writer(b, 'B')]);
  const loaded = await a.load(key);
  assert.equal(loaded.length, batches * 2 * 3);
  const uuids = loaded.filter((e) => e.uuid).map((e) => e.uuid);
  assert.equal(new Set(uuids).size, batches * 2 * 2);
  for (const name of ['A', 'B']) {
    const mine = loaded.filter((e) => e.type === 'tag' && e.tag.startsWith(name)).map((e) => Number(e.tag.slice(1)));
    assert.deepEqual(mine, [...mine].sort((x, y) => x - y), `${name}'s batches kept their order`);
  }
  // Every batch was folded exactly once: the sidecar's CAS version counts the folds.
  const response = await fetch(`${url}/v1/projects/p/sessions/race/summary`, { headers: { 'x-sessions-tenant': tenant } });
  const summary = await response.json();
  assert.equal(summary.version, batches * 2);
  const [listed] = await a.listSessions('p');
  assert.equal(summary.mtime, listed.mtime);
  assert.equal(summary.data.cwd, '/race');
});

// A fetch that counts the requests it sends, by method.
function countingFetch() {
  const counts = { total: 0 };
  const wrapped = (input, init) => {
    counts.total++;
    counts[init?.method ?? 'GET'] = (counts[init?.method ?? 'GET'] ?? 0) + 1;
    return fetch(input, init);
  };
  return { counts, fetch: wrapped };
}

test('each append is one request: the entries and the folded sidecar travel together', async () => {
  const { counts, fetch: counted } = countingFetch();
  const store = newStore(undefined, { fetch: counted });
  const key = { projectKey: 'p', sessionId: 'one-trip' };
  const batches = [
    [entry('u1', { cwd: '/work', message: { role: 'user', content: 'first prompt' } })],
    [entry('a1', { type: 'assistant', parentUuid: 'u1' }), { type: 'custom-title', customTitle: 'Named', sessionId: 'one-trip' }],
    [{ type: 'tag', tag: 'blue', sessionId: 'one-trip' }],
  ];
  let expected;
  for (const batch of batches) {
    await store.append(key, batch);
    expected = foldSessionSummary(expected, key, batch);
  }
  assert.equal(counts.total, batches.length);
  const [summary] = await store.listSessionSummaries('p');
  const [listed] = await store.listSessions('p');
  assert.deepEqual(summary.data, expected.data);
  assert.equal(summary.mtime, listed.mtime);
});

test('a second host folds over the sidecar the first wrote: one extra request on its first append, none after', async () => {
  const tenant = `ts-resume-${Date.now()}`;
  const first = newStore(tenant);
  const { counts, fetch: counted } = countingFetch();
  const second = newStore(tenant, { fetch: counted });
  const key = { projectKey: 'p', sessionId: 'resumed' };
  const batches = [
    [entry('u1', { cwd: '/one', message: { role: 'user', content: 'the first prompt' } })],
    [{ type: 'custom-title', customTitle: 'Kept', sessionId: 'resumed' }],
    [entry('u2', { message: { role: 'user', content: 'the last prompt' } })],
    [{ type: 'tag', tag: 'green', sessionId: 'resumed' }],
  ];
  await first.append(key, batches[0]);
  await first.append(key, batches[1]);
  await second.append(key, batches[2]);
  assert.deepEqual(counts, { total: 2, POST: 1, PUT: 1 });
  await second.append(key, batches[3]);
  assert.equal(counts.total, 3);
  const expected = batches.reduce((summary, batch) => foldSessionSummary(summary, key, batch), undefined);
  const [summary] = await first.listSessionSummaries('p');
  assert.deepEqual(summary.data, expected.data);
  const [listed] = await first.listSessions('p');
  assert.equal(summary.mtime, listed.mtime);
});

test('after a delete and a new session under the same id, the sidecar is folded from nothing', async () => {
  const store = newStore();
  const key = { projectKey: 'p', sessionId: 'again' };
  await store.append(key, [{ type: 'custom-title', customTitle: 'Old', sessionId: 'again' }]);
  await store.delete(key);
  const fresh = [entry('n1', { cwd: '/new' })];
  await store.append(key, fresh);
  const [summary] = await store.listSessionSummaries('p');
  assert.deepEqual(summary.data, foldSessionSummary(undefined, key, fresh).data);
  assert.equal(summary.data.customTitle, undefined);
});

test('the first SDK append to a transcript written without a sidecar folds the whole transcript', async () => {
  const tenant = `ts-nosidecar-${Date.now()}`;
  const store = newStore(tenant);
  const key = { projectKey: 'p', sessionId: 'imported' };
  const earlier = [entry('i1', { cwd: '/imported', message: { role: 'user', content: 'the imported first prompt' } }), { type: 'custom-title', customTitle: 'Imported', sessionId: 'imported' }];
  // Written through the HTTP API (as the CLI's push does): no summary sidecar.
  const response = await fetch(`${url}/v1/projects/p/sessions/imported/entries`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-sessions-tenant': tenant }, body: JSON.stringify(earlier),
  });
  assert.equal(response.status, 200);
  const later = [entry('i2', { message: { role: 'user', content: 'a later prompt' } })];
  await store.append(key, later);
  const [summary] = await store.listSessionSummaries('p');
  assert.deepEqual(summary.data, foldSessionSummary(undefined, key, [...earlier, ...later]).data);
  assert.equal(summary.data.customTitle, 'Imported');
});

test('a rename through the HTTP API between two SDK appends reaches the sidecar: the next fold is of the whole transcript', async () => {
  const tenant = `ts-rename-${Date.now()}`;
  const store = newStore(tenant);
  const key = { projectKey: 'p', sessionId: 'renamed' };
  const first = [entry('r1', { cwd: '/r', message: { role: 'user', content: 'the first prompt' } })];
  await store.append(key, first);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const response = await fetch(`${url}/v1/projects/p/sessions/renamed/rename`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-sessions-tenant': tenant }, body: JSON.stringify({ title: 'Renamed by the API' }),
  });
  assert.equal(response.status, 204, await response.text());
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = [entry('r2', { message: { role: 'user', content: 'a later prompt' } })];
  await store.append(key, second);
  const [summary] = await store.listSessionSummaries('p');
  assert.equal(summary.data.customTitle, 'Renamed by the API');
  assert.deepEqual(summary.data, foldSessionSummary(undefined, key, await store.load(key)).data);
});
