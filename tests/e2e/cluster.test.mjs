// Two nodes in cluster mode (one PostgreSQL database, one Redis) behind nginx with the shipped
// configuration (deploy/nginx/interview-ide.conf): an interviewer and a candidate whose
// connections land on different nodes see each other's typing and cursors.
// Needs TEST_DATABASE_URL (postgres://...), TEST_REDIS_URL and nginx; skips without them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { nginxAvailable, startNginx } from '../lib/nginx.mjs';
import { VIEWPORT, collectErrors, joinSession, launchBrowser, remoteCursors, typeAtEnd, waitForText, waitLive, waitOnline } from './browser.mjs';

const DB = process.env.TEST_DATABASE_URL;
const REDIS = process.env.TEST_REDIS_URL;
const why = !DB || !REDIS ? 'needs TEST_DATABASE_URL and TEST_REDIS_URL' : !nginxAvailable() ? 'needs nginx (./scripts/test.sh installs it)' : null;
if (why) console.log(`SKIPPED: the cluster browser test ${why}`);

let nodes = [];
let lb;
let browser;

before(async () => {
  if (why) return;
  const run = randomBytes(3).toString('hex');
  for (const name of ['a', 'b']) {
    nodes.push(await startServer(['--redis-url', REDIS, '--node-id', `e2e-${name}-${run}`], { databaseUrl: DB }));
  }
  lb = await startNginx(nodes.map((n) => n.url.replace('http://', '')));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await lb?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
});

/** Updates that crossed from one node to the other so far (both nodes' counters). */
async function crossed() {
  let total = 0;
  for (const n of nodes) {
    const text = await (await fetch(`${n.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('iide_cluster_remote_updates_total '));
    total += Number(line?.split(' ')[1] ?? 0);
  }
  return total;
}

const throughLb = (link) => link.replace(/^http:\/\/[^/]+/, lb.url);
const unique = (label) => `${label}_${randomBytes(4).toString('hex')}`;

test('interviewer and candidate on different nodes behind nginx see each other live', { skip: why ?? false }, async () => {
  const session = await createSession(nodes[0].url);
  const interviewer = collectErrors(await (await browser.newContext({ viewport: VIEWPORT })).newPage());
  const candidate = collectErrors(await (await browser.newContext({ viewport: VIEWPORT })).newPage());
  await joinSession(interviewer, throughLb(session.interviewer_url), 'Ada');
  await joinSession(candidate, throughLb(session.candidate_url), 'Bob');
  await waitOnline(interviewer, ['Ada', 'Bob']);
  await waitOnline(candidate, ['Ada', 'Bob']);

  // nginx spreads connections without stickiness; until the two editors' connections are on
  // different nodes (an edit crosses through Redis), the candidate reloads, as a person might.
  let onDifferentNodes = false;
  for (let attempt = 0; attempt < 12 && !onDifferentNodes; attempt++) {
    const before = await crossed();
    const line = `# ${unique('from_ada')}`;
    await typeAtEnd(interviewer, line);
    await waitForText(candidate, (t) => t.includes(line), { what: "the interviewer's typing at the candidate" });
    onDifferentNodes = (await crossed()) > before;
    if (!onDifferentNodes) {
      await candidate.reload();
      await waitLive(candidate);
    }
  }
  assert.ok(onDifferentNodes, 'the two editors ended up on different nodes');

  const fromBob = `# ${unique('from_bob')}`;
  await typeAtEnd(candidate, fromBob);
  await waitForText(interviewer, (t) => t.includes(fromBob), { what: "the candidate's typing at the interviewer" });
  let cursors = [];
  await waitFor(async () => (cursors = await remoteCursors(interviewer)).some((c) => c.name === 'Bob' && c.line?.includes(fromBob)), {
    timeout: 10_000,
    what: "Bob's cursor at the interviewer",
  }).catch((e) => assert.fail(`${e.message}: ${JSON.stringify(cursors)}`));
  await waitFor(async () => (cursors = await remoteCursors(candidate)).some((c) => c.name === 'Ada'), {
    timeout: 10_000,
    what: "Ada's cursor at the candidate",
  }).catch((e) => assert.fail(`${e.message}: ${JSON.stringify(cursors)}`));
  const errors = [interviewer, candidate].flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the pages');
});
