// The SDK's own InMemorySessionStore as an oracle of what a SessionStore holds after a sequence of appends.
// Usage: node in-memory-store.mjs <cases.json>
//   cases.json: [[batch, batch, …], …], each batch an array of entries appended to one session in that order.
// Prints [[entry, …], …]: what load() returns for each case's session afterwards ([] when nothing was appended).
import { InMemorySessionStore } from '@anthropic-ai/claude-agent-sdk';
import { readFileSync } from 'node:fs';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const key = { projectKey: 'p', sessionId: '00000000-0000-4000-8000-000000000000' };
const out = [];
for (const batches of cases) {
  const store = new InMemorySessionStore();
  for (const batch of batches) await store.append(key, batch);
  out.push((await store.load(key)) ?? []);
}
process.stdout.write(JSON.stringify(out));
