// The Chaos Engine in a real browser against the real server and sandboxed app: the interviewer
// activates scenarios and custom faults from the panel; the candidate only sees their effects in
// the request console, never the panel nor any word of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../lib/server.mjs';
import { byTestId, launchBrowser } from './browser.mjs';
import { createWorkspace, openWorkspacePage, sendRequest, waitResponse } from '../lib/workspace.mjs';

const NORMAL_GOOGL = 178.35;

let server;
let browser;
let ws = null;

before(async () => {
  const web = process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : [];
  server = await startServer(web);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** One session for the file: the interviewer and the candidate, the app running. */
async function workspace() {
  if (!ws) {
    const session = await createWorkspace(server.url, 'Backend review');
    const interviewer = await openWorkspacePage(browser, session.interviewer_url, 'Ada');
    const candidate = await openWorkspacePage(browser, session.candidate_url, 'Cleo');
    await interviewer.locator('[data-testid="status-app-state"][data-state="running"]').waitFor({ timeout: 30_000 });
    await byTestId(interviewer, 'chaos-panel').waitFor({ timeout: 10_000 });
    ws = { session, interviewer, candidate };
  }
  return ws;
}

function assertNoPageErrors() {
  const errors = [ws.interviewer, ws.candidate].flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
}

const googlPrice = (res) => {
  try {
    return JSON.parse(res.body).price;
  } catch {
    return undefined;
  }
};

/** Waits until the panel's summary line matches `pattern`. */
async function waitChaosStatus(page, pattern) {
  const status = byTestId(page, 'chaos-status');
  let last = '';
  await waitFor(async () => pattern.test((last = await status.innerText())), { timeout: 10_000, what: `chaos status ${pattern}` }).catch((e) =>
    assert.fail(`${e.message}; it shows "${last}"`),
  );
}

/** Activates a scenario from its card, through the confirmation dialog. */
async function activate(page, id) {
  await byTestId(page, `chaos-activate-${id}`).click();
  await byTestId(page, 'chaos-confirm').click();
  await page.locator(`[data-testid="chaos-scenario-${id}"][data-active="true"]`).waitFor({ timeout: 15_000 });
}

async function resetToClean(page) {
  await byTestId(page, 'chaos-reset').click();
  await byTestId(page, 'chaos-confirm').click();
  await waitChaosStatus(page, /^No faults active$/);
}

/** The candidate's page shows nothing of the Chaos Engine: no element, no word of it. */
async function assertNothingOfChaos(page) {
  assert.equal(await page.locator('[data-testid^="chaos"]').count(), 0, 'the candidate has chaos elements');
  assert.equal(await page.locator('[data-testid="exercise-notes"]').count(), 0, 'the candidate sees the exercise notes');
  const text = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(text, /chaos|\bfaults?\b/i, 'the candidate page mentions the Chaos Engine');
  const html = await page.content();
  assert.doesNotMatch(html, /chaos/i, 'the candidate page markup mentions chaos');
}

test('corrupted market data: the candidate sees -50 until the interviewer resets', async () => {
  const { interviewer, candidate, session } = await workspace();
  const before = await sendRequest(candidate, 'GET', '/stocks/GOOGL');
  assert.equal(before.status, 200, before.body);
  assert.equal(googlPrice(before), NORMAL_GOOGL);

  // The interviewer has the exercise's notes (the planted weaknesses) a click away.
  await interviewer.getByRole('button', { name: 'Exercise notes' }).click();
  await byTestId(interviewer, 'exercise-notes').getByText(/N\+1/).first().waitFor();
  await byTestId(interviewer, 'chaos-scenario-chaos_data').waitFor();
  await waitChaosStatus(interviewer, /^No faults active$/);
  await activate(interviewer, 'chaos_data');
  await waitChaosStatus(interviewer, /1 scenario active/);
  await byTestId(interviewer, 'chaos-since-chaos_data').waitFor();

  const broken = await waitResponse(candidate, 'GET', '/stocks/GOOGL', (r) => r.status === 200 && googlPrice(r) === -50);
  assert.match(broken.body, /-50/);
  await assertNothingOfChaos(candidate);
  // Nor can the candidate ask the server about it.
  const refused = await candidate.evaluate(
    ({ id, token }) => fetch(`/api/sessions/${id}/chaos/status`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status),
    { id: session.id, token: session.candidate_token },
  );
  assert.equal(refused, 403);

  await resetToClean(interviewer);
  assert.equal(await interviewer.locator('[data-testid="chaos-scenario-chaos_data"]').getAttribute('data-active'), 'false');
  const restored = await waitResponse(candidate, 'GET', '/stocks/GOOGL', (r) => r.status === 200 && googlPrice(r) === NORMAL_GOOGL);
  assert.match(restored.body, /178\.35/);
  await assertNothingOfChaos(candidate);
  assertNoPageErrors();
});

test('slow network: activated, felt by the candidate, then deactivated', async () => {
  const { interviewer, candidate } = await workspace();
  await activate(interviewer, 'net_slow');
  await waitChaosStatus(interviewer, /1 scenario active, 1 fault/);
  await byTestId(interviewer, 'chaos-faults').waitFor();
  assert.match(await byTestId(interviewer, 'chaos-faults').innerText(), /latency/);

  // 800 ms ± 400 ms: every request takes at least 400 ms.
  const started = Date.now();
  const slow = await sendRequest(candidate, 'GET', '/stocks/GOOGL', { timeout: 20_000 });
  assert.equal(slow.status, 200);
  assert.ok(Date.now() - started >= 400, `the request took ${Date.now() - started} ms`);
  await assertNothingOfChaos(candidate);

  await byTestId(interviewer, 'chaos-deactivate-net_slow').click();
  await interviewer.locator('[data-testid="chaos-scenario-net_slow"][data-active="false"]').waitFor({ timeout: 10_000 });
  await waitChaosStatus(interviewer, /^No faults active$/);
  await waitResponse(candidate, 'GET', '/stocks/GOOGL', (r) => r.status === 200 && Number(/· (\d+) ms/.exec(r.statusText)?.[1]) < 400, {
    what: 'a fast answer again',
  });
  assertNoPageErrors();
});

test('a custom fault: HTTP 418 on GET /stocks*, then removed', async () => {
  const { interviewer, candidate } = await workspace();
  const form = byTestId(interviewer, 'chaos-custom');
  await form.scrollIntoViewIfNeeded();
  await byTestId(interviewer, 'chaos-custom-kind').selectOption('error');
  await byTestId(interviewer, 'chaos-custom-status').fill('418');
  await byTestId(interviewer, 'chaos-custom-method-GET').check();
  await byTestId(interviewer, 'chaos-custom-path').fill('/stocks*');
  await byTestId(interviewer, 'chaos-custom-probability').fill('1');
  await byTestId(interviewer, 'chaos-custom-add').click();
  const fault = interviewer.locator('[data-testid="chaos-faults"] [data-testid^="chaos-fault-"]').first();
  await fault.waitFor({ timeout: 10_000 });
  assert.match(await fault.innerText(), /418/);
  await waitChaosStatus(interviewer, /1 fault active/);

  const teapot = await waitResponse(candidate, 'GET', '/stocks/GOOGL', (r) => r.status === 418);
  assert.equal(teapot.status, 418);
  // Only what the fault names: another path is untouched.
  const users = await sendRequest(candidate, 'GET', '/users/1');
  assert.equal(users.status, 200, users.body);
  await assertNothingOfChaos(candidate);

  await interviewer.locator('[data-testid^="chaos-fault-remove-"]').first().click();
  await waitChaosStatus(interviewer, /^No faults active$/);
  const ok = await waitResponse(candidate, 'GET', '/stocks/GOOGL', (r) => r.status === 200);
  assert.equal(googlPrice(ok), NORMAL_GOOGL);
  assertNoPageErrors();
});
