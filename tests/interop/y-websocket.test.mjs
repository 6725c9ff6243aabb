// The stock y-websocket client (WebsocketProvider) against our server, unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import { startServer, createSession, waitFor } from '../lib/server.mjs';

let server;
let session;
const providers = [];

before(async () => {
  server = await startServer();
  session = await createSession(server.url);
});

after(async () => {
  // Providers and their awareness keep timers; release them so the test process can exit.
  for (const p of providers) {
    p.destroy();
    p.awareness.destroy();
    p.doc.destroy();
  }
  await server.stop();
});

function connect(token, doc = 'main') {
  const ydoc = new Y.Doc();
  const provider = new WebsocketProvider(`${server.wsUrl}/api/sessions/${session.id}/docs`, doc, ydoc, {
    params: { token },
    // ws implements what the provider uses of the DOM WebSocket, though its declared types differ.
    WebSocketPolyfill: /** @type {typeof globalThis.WebSocket} */ (/** @type {unknown} */ (WebSocket)),
    disableBc: true,
  });
  providers.push(provider);
  return { ydoc, provider, text: ydoc.getText('code') };
}

const synced = (p) => waitFor(() => p.provider.synced, { what: 'sync' });

test('two providers converge, including concurrent edits', async () => {
  const a = connect(session.interviewer_token);
  const b = connect(session.candidate_token);
  await synced(a);
  await synced(b);
  assert.match(a.text.toString(), /greet/, 'starter code arrives');
  assert.equal(a.ydoc.getMap('meta').get('language'), 'python');

  a.text.insert(0, 'A1 ');
  await waitFor(() => b.text.toString().startsWith('A1 '), { what: 'A edit at B' });

  // Concurrent: both insert at the same position before seeing each other.
  a.text.insert(0, 'left ');
  b.text.insert(0, 'right ');
  await waitFor(() => a.text.toString() === b.text.toString() && a.text.toString().includes('left') && a.text.toString().includes('right'), { what: 'convergence' });
});

test('awareness reaches the other client and is removed when it leaves', async () => {
  const a = connect(session.interviewer_token);
  const b = connect(session.candidate_token);
  await synced(a);
  await synced(b);
  b.provider.awareness.setLocalStateField('user', { name: 'Bob', color: '#4fc1ff' });
  const bId = b.ydoc.clientID;
  await waitFor(() => a.provider.awareness.getStates().get(bId)?.user?.name === 'Bob', { what: 'awareness of Bob' });

  // Closing the socket without a goodbye: the server removes Bob's state for everyone.
  /** @type {any} */ (b.provider.ws).terminate?.();
  b.provider.shouldConnect = false;
  b.provider.ws?.close();
  await waitFor(() => !a.provider.awareness.getStates().has(bId), { what: 'Bob removed', timeout: 8000 });
});

test('a late joiner gets the full document', async () => {
  const a = connect(session.interviewer_token);
  await synced(a);
  for (let i = 0; i < 100; i++) a.text.insert(a.text.length, `line ${i}\n`);
  await new Promise((r) => setTimeout(r, 300));
  const late = connect(session.candidate_token);
  await synced(late);
  await waitFor(() => late.text.toString() === a.text.toString(), { what: 'late joiner converged' });
});

test('a wrong token is refused and the notes document is interviewer-only', async () => {
  const tryOpen = (token, doc) =>
    new Promise((resolve) => {
      const ws = new WebSocket(`${server.wsUrl}/api/sessions/${session.id}/docs/${doc}?token=${token}`);
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => {});
    });
  assert.equal(await tryOpen('nope', 'main'), 401);
  assert.equal(await tryOpen(session.candidate_token, 'notes'), 403);
  assert.equal(await tryOpen(session.interviewer_token, 'notes'), 101);
});
