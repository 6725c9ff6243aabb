// What the server writes down: every request is logged (RUST_LOG=info), and no credential ever
// reaches the log: not an invite's code, not a capability of the untrusted origin, not a token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../lib/server.mjs';
import { createWorkspace } from '../lib/workspace.mjs';

let server;

before(async () => {
  server = await startServer([], { logLevel: 'info' });
});

after(async () => {
  await server?.stop();
});

test('invite codes, capabilities and session tokens never reach the request log', async () => {
  const asAdmin = (method, path, body) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
  // An invite, looked at and accepted.
  const invite = await (await asAdmin('POST', '/api/admin/invites', { role: 'admin' })).json();
  assert.equal((await fetch(`${server.url}/api/auth/invites/${invite.code}`)).status, 200);
  const accepted = await fetch(`${server.url}/api/auth/invites/${invite.code}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'new-admin@example.com', name: 'New', password: 'a-long-enough-password' }),
  });
  assert.equal(accepted.status, 201);
  // A workspace's content, through the untrusted origin; a link's token in a query.
  const session = await createWorkspace(server.url);
  const links = await (await fetch(`${server.url}/api/sessions/${session.id}/content?token=${session.candidate_token}`)).json();
  const capability = links.base.split('/').filter(Boolean).pop();
  await waitFor(async () => (await fetch(`${links.app}stocks`)).status === 200, { timeout: 60_000, interval: 500, what: 'the app' });
  await waitFor(() => server.log().includes('[capability]'), { what: 'the untrusted request in the log' });
  const log = server.log();
  assert.match(log, /invites\/\[redacted\]/, 'the invite requests are logged, without their code');
  for (const [what, secret] of [
    ['the invite code', invite.code],
    ['the capability', capability],
    ['the candidate token', session.candidate_token],
    ['the interviewer token', session.interviewer_token],
    ['the API key', server.apiKey],
  ]) {
    assert.ok(!log.includes(secret), `${what} is in the log`);
  }
});
