// The oracle: what the real @anthropic-ai/claude-agent-sdk answers for the sessions in CLAUDE_CONFIG_DIR.
// Usage: CLAUDE_CONFIG_DIR=<dir> node oracle.mjs list
//        CLAUDE_CONFIG_DIR=<dir> node oracle.mjs dump <forks.json>
//        CLAUDE_CONFIG_DIR=<dir> node oracle.mjs write <sessionId> <title> <tag>
//        CLAUDE_CONFIG_DIR=<dir> node oracle.mjs messages <sessionId> <cwd>
//   list: listSessions() over every project.
//   messages: getSessionMessages of one session, looked up as Claude Code run in <cwd> would (the SDK's dir option).
//   write: renameSession, tagSession, then forkSession with the title; prints the bytes the SDK appended to the
//          session's file and the fork's whole file, as written.
//   dump: for every session: getSessionInfo, getSessionMessages, listSubagents, and the entries of
//         forkSession at each fork point: those named for that session in forks.json
//         ({"<sessionId>": ["<uuid>|*", ...]}, "*" = whole session), by default the whole session and its
//         first, middle and last message. Forks are written by the SDK next to the session and removed after reading.
// Prints one JSON document on stdout.
import { listSessions, getSessionInfo, getSessionMessages, getSubagentMessages, listSubagents, forkSession, renameSession, tagSession } from '@anthropic-ai/claude-agent-sdk';
import { readFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const [command, forksFile] = process.argv.slice(2);
const configDir = process.env.CLAUDE_CONFIG_DIR;
if (!configDir) throw new Error('CLAUDE_CONFIG_DIR must be set');

function findFile(sessionId) {
  const projects = join(configDir, 'projects');
  for (const p of readdirSync(projects)) {
    const f = join(projects, p, `${sessionId}.jsonl`);
    if (existsSync(f)) return { projectKey: p, file: f };
  }
  return null;
}

const sessions = await listSessions();
if (command === 'write') {
  const [, sessionId, title, tag] = process.argv.slice(2);
  const { file } = findFile(sessionId);
  const before = readFileSync(file).length;
  await renameSession(sessionId, title);
  await tagSession(sessionId, tag);
  const appended = readFileSync(file).subarray(before).toString('utf8');
  const { sessionId: forkId } = await forkSession(sessionId, { title });
  const forkText = readFileSync(findFile(forkId).file, 'utf8');
  process.stdout.write(JSON.stringify({ appended, forkId, forkText }));
} else if (command === 'messages') {
  const [, sessionId, dir] = process.argv.slice(2);
  process.stdout.write(JSON.stringify(await getSessionMessages(sessionId, { dir })));
} else if (command === 'list') {
  process.stdout.write(JSON.stringify(sessions));
} else if (command === 'dump') {
  const forks = forksFile ? JSON.parse(readFileSync(forksFile, 'utf8')) : {};
  const out = { sessions, details: {} };
  for (const s of sessions) {
    const info = await getSessionInfo(s.sessionId);
    const messages = await getSessionMessages(s.sessionId);
    const subagents = await listSubagents(s.sessionId);
    const forkResults = {};
    const withSystem = await getSessionMessages(s.sessionId, { includeSystemMessages: true });
    const u = messages.map(m => m.uuid);
    // Compaction entries exercise forkSession's upToMessageId compaction rules: boundaries and their summaries.
    const lines = readFileSync(findFile(s.sessionId).file, 'utf8').split('\n').filter(l => l.trim()).map(l => { try { return JSON.parse(l); } catch { return {}; } });
    const boundaries = lines.filter(e => e.type === 'system' && e.subtype === 'compact_boundary').map(e => e.uuid).slice(0, 2);
    const summaries = lines.filter(e => e.type === 'user' && e.isCompactSummary === true).map(e => e.uuid).slice(0, 2);
    const points = forks[s.sessionId] ?? ['*', ...new Set([u[0], u[Math.floor(u.length / 2)], u[u.length - 1], ...boundaries, ...summaries].filter(Boolean))];
    for (const at of points) {
      try {
        const opts = at === '*' ? {} : { upToMessageId: at };
        const { sessionId: forkId } = await forkSession(s.sessionId, opts);
        const loc = findFile(forkId);
        const text = readFileSync(loc.file, 'utf8');
        const entries = text.split('\n').filter(l => l.trim()).map(l => JSON.parse(l));
        rmSync(loc.file);
        forkResults[at] = { forkId, entries, bytes: Buffer.byteLength(text) };
      } catch (e) {
        forkResults[at] = { error: String(e.message ?? e) };
      }
    }
    const subagentMessages = {};
    for (const agentId of subagents) subagentMessages[agentId] = await getSubagentMessages(s.sessionId, agentId);
    out.details[s.sessionId] = { subagentMessages, info, messageUuids: messages.map(m => m.uuid), messages, withSystemUuids: withSystem.map(m => m.uuid), subagents: [...subagents].sort(), forks: forkResults };
  }
  process.stdout.write(JSON.stringify(out));
} else {
  throw new Error(`unknown command ${command}`);
}
