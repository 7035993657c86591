// Shared setup: the tests run against a live Sessions.Cluster server (SESSIONS_URL), which `dotnet test` starts
// for them (tests/Sessions.Cluster.Server.Tests/TypeScriptAdapterTests.cs), and the real transcripts in
// CLAUDE_CONFIG_DIR (a writable copy of ../shared/fixtures/claude-code).
import { randomUUID } from 'node:crypto';
import { ClusterSessionStore } from '../dist/index.js';

export const url = process.env.SESSIONS_URL;
if (!url) {
  throw new Error('SESSIONS_URL is not set: run these tests through `dotnet test` (it starts a server), or start one with `sessions serve` and set SESSIONS_URL.');
}

/** A store in a tenant of its own, so tests never see each other's sessions. */
export function newStore(tenant = `ts-${randomUUID().slice(0, 8)}`, extra = {}) {
  return new ClusterSessionStore({ url, tenant, ...extra });
}

export function entry(uuid, extra = {}) {
  return { type: 'user', uuid, timestamp: new Date().toISOString(), message: { role: 'user', content: `text ${uuid}` }, ...extra };
}
