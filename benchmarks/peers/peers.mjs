// The peers of the Sessions.Cluster benchmarks, each timed inside this process on exactly the inputs the .NET driver
// uses (the same JSONL file cut into the same batches). Prints one JSON object on stdout.
//   blob-append  <connectionString> <container> <jsonl> <batches.json>  raw Append Block with @azure/storage-blob
//   blob-download <connectionString> <container> <blob> <times>          raw download of the same bytes
//   inmemory-append <jsonl> <batches.json>                               the SDK's InMemorySessionStore.append
//   pg-append <connectionString> <jsonl> <batches.json>                  one row per entry, as the SDK's reference Postgres adapter stores them
//   pg-load <connectionString> <times>                                    reading those rows back in order
//   sdk-list <configDir> <times>                                          the SDK's local-file listSessions()
//   sdk-fork <configDir> <sessionId> <uuid> <times>                       the SDK's local-file forkSession (fork file removed after each run)
//   sdk-messages <configDir> <sessionId> <times>                          the SDK's local-file getSessionMessages
import { readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [command, ...args] = process.argv.slice(2);

function batchesOf(jsonl, batchesFile) {
  const lines = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.trim());
  const sizes = JSON.parse(readFileSync(batchesFile, 'utf8'));
  const out = [];
  let at = 0;
  for (const n of sizes) { out.push(lines.slice(at, at + n)); at += n; }
  return out;
}

async function timed(fn) {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const result = {};
switch (command) {
  case 'blob-append': {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const [conn, container, jsonl, batchesFile] = args;
    const client = BlobServiceClient.fromConnectionString(conn).getContainerClient(container);
    await client.createIfNotExists();
    const blob = client.getAppendBlobClient(`peer/${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
    await blob.create();
    let position = 0;
    result.latenciesMs = [];
    for (const batch of batchesOf(jsonl, batchesFile)) {
      const body = Buffer.from(batch.join('\n') + '\n');
      for (let offset = 0; offset < body.length; offset += 4 * 1024 * 1024) {
        const block = body.subarray(offset, Math.min(body.length, offset + 4 * 1024 * 1024));
        result.latenciesMs.push(await timed(() => blob.appendBlock(block, block.length, { conditions: { appendPosition: position } })));
        position += block.length;
      }
    }
    result.blob = blob.name;
    break;
  }
  case 'blob-download': {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const [conn, container, name, times] = args;
    const blob = BlobServiceClient.fromConnectionString(conn).getContainerClient(container).getBlobClient(name);
    result.ms = [];
    for (let i = 0; i < Number(times); i++) result.ms.push(await timed(async () => { result.bytes = (await blob.downloadToBuffer()).length; }));
    break;
  }
  case 'inmemory-append': {
    const { InMemorySessionStore } = await import('@anthropic-ai/claude-agent-sdk');
    const [jsonl, batchesFile] = args;
    const store = new InMemorySessionStore();
    const key = { projectKey: 'bench', sessionId: 'peer' };
    result.latenciesMs = [];
    for (const batch of batchesOf(jsonl, batchesFile)) {
      const entries = batch.map((l) => JSON.parse(l));
      result.latenciesMs.push(await timed(() => store.append(key, entries)));
    }
    result.loadMs = await timed(() => store.load(key));
    break;
  }
  case 'pg-append': {
    const pg = (await import('pg')).default;
    const [conn, jsonl, batchesFile] = args;
    const client = new pg.Client({ connectionString: conn });
    await client.connect();
    await client.query('CREATE TABLE IF NOT EXISTS peer_entries (session_id text, seq int, uuid text, entry jsonb, PRIMARY KEY (session_id, seq))');
    await client.query("DELETE FROM peer_entries WHERE session_id = 'peer'");
    let seq = 0;
    result.latenciesMs = [];
    for (const batch of batchesOf(jsonl, batchesFile)) {
      const values = [];
      const params = [];
      for (const line of batch) {
        params.push('peer', seq++, JSON.parse(line).uuid ?? null, line);
        values.push(`($${params.length - 3}, $${params.length - 2}, $${params.length - 1}, $${params.length})`);
      }
      result.latenciesMs.push(await timed(() => client.query(`INSERT INTO peer_entries VALUES ${values.join(',')} ON CONFLICT DO NOTHING`, params)));
    }
    await client.end();
    break;
  }
  case 'pg-load': {
    const pg = (await import('pg')).default;
    const [conn, times] = args;
    const client = new pg.Client({ connectionString: conn });
    await client.connect();
    result.ms = [];
    for (let i = 0; i < Number(times); i++) result.ms.push(await timed(async () => { result.rows = (await client.query("SELECT entry FROM peer_entries WHERE session_id = 'peer' ORDER BY seq")).rows.length; }));
    await client.end();
    break;
  }
  case 'sdk-list': {
    const { listSessions } = await import('@anthropic-ai/claude-agent-sdk');
    const [, times] = args;
    result.ms = [];
    for (let i = 0; i < Number(times); i++) result.ms.push(await timed(async () => { result.count = (await listSessions()).length; }));
    break;
  }
  case 'sdk-fork': {
    const { forkSession, getSessionInfo } = await import('@anthropic-ai/claude-agent-sdk');
    const [configDir, sessionId, at, times] = args;
    result.ms = [];
    for (let i = 0; i < Number(times); i++) {
      let forkId;
      result.ms.push(await timed(async () => { ({ sessionId: forkId } = await forkSession(sessionId, at === '*' ? {} : { upToMessageId: at })); }));
      const info = await getSessionInfo(forkId);
      rmSync(`${configDir}/projects/${info.cwd.replace(/[^a-zA-Z0-9]/g, '-')}/${forkId}.jsonl`, { force: true });
    }
    break;
  }
  case 'sdk-messages': {
    const { getSessionMessages } = await import('@anthropic-ai/claude-agent-sdk');
    const [, sessionId, times] = args;
    result.ms = [];
    for (let i = 0; i < Number(times); i++) result.ms.push(await timed(async () => { result.count = (await getSessionMessages(sessionId)).length; }));
    break;
  }
  case 'sdk-info': {
    const { getSessionInfo } = await import('@anthropic-ai/claude-agent-sdk');
    const [, sessionId, times] = args;
    result.ms = [];
    for (let i = 0; i < Number(times); i++) result.ms.push(await timed(async () => { result.summary = (await getSessionInfo(sessionId)).summary; }));
    break;
  }
  default:
    throw new Error(`unknown command ${command}`);
}
process.stdout.write(JSON.stringify(result));
