// The interviewer's live view of the candidate's app and the recovery checks, in a real browser
// against the real server and sandboxed app: the error rate jumps when `net_errors` is on, the
// checks turn green once the fault is off, and the candidate's page holds nothing of either.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../lib/server.mjs';
import { byTestId, formatViolations, launchBrowser, runAxe } from './browser.mjs';
import { createWorkspace, openInVsCode, openWorkspacePage, sendRequest, typeInTerminal, waitResponse, waitTerminal } from '../lib/workspace.mjs';

let server;
let browser;

before(async () => {
  const web = process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : [];
  server = await startServer(web);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const errorRate = async (page) => Number((await byTestId(page, 'live-error-rate').getAttribute('data-value')) || 0);

test('the interviewer watches the error rate jump under net_errors and the checks turn green after the fix', async () => {
  const session = await createWorkspace(server.url, 'Live view');
  const interviewer = await openWorkspacePage(browser, session.interviewer_url, 'Ada');
  const candidate = await openWorkspacePage(browser, session.candidate_url, 'Cleo');
  // Every request the candidate's page makes, to prove it never asks for the live view.
  const candidateUrls = [];
  candidate.on('request', (r) => candidateUrls.push(r.url()));
  await interviewer.locator('[data-testid="status-app-state"][data-state="running"]').waitFor({ timeout: 30_000 });
  await byTestId(interviewer, 'live-panel').waitFor({ timeout: 10_000 });

  // Clean traffic shows up in the panel.
  for (let i = 0; i < 3; i++) assert.equal((await sendRequest(candidate, 'GET', '/stocks')).status, 200);
  await waitFor(async () => Number(await byTestId(interviewer, 'live-requests').innerText()) >= 3, { timeout: 10_000, what: 'requests counted' });
  assert.equal(await errorRate(interviewer), 0);
  await byTestId(interviewer, 'live-latest').getByText('GET /stocks').first().waitFor();
  for (const chart of ['live-chart-rps', 'live-chart-errors', 'live-chart-latency']) {
    assert.equal(await byTestId(interviewer, chart).locator('canvas').count(), 1, `${chart} is drawn`);
  }

  // net_errors: 30 % of requests fail; the interviewer's error rate jumps.
  await byTestId(interviewer, 'chaos-activate-net_errors').click();
  await byTestId(interviewer, 'chaos-confirm').click();
  await interviewer.locator('[data-testid="chaos-scenario-net_errors"][data-active="true"]').waitFor({ timeout: 15_000 });
  let sent = 0;
  let failed = 0;
  while (failed < 2 && sent < 40) {
    const r = await sendRequest(candidate, 'GET', '/stocks');
    sent += 1;
    if (r.status !== 200) failed += 1;
  }
  assert.ok(failed >= 2, `some of ${sent} requests failed`);
  const sentAt = Date.now();
  await waitFor(async () => (await errorRate(interviewer)) > 0, { timeout: 10_000, what: 'the error rate jumps' });
  console.log(`# the error rate showed ${Date.now() - sentAt} ms after the last failing request (indicative)`);
  assert.match(await byTestId(interviewer, 'live-error-rate').innerText(), /%/);

  // Check the fix while the fault is on: red, with what was seen.
  await byTestId(interviewer, 'chaos-checks-scope').selectOption('net_errors');
  await byTestId(interviewer, 'chaos-checks-run').click();
  const check = interviewer.locator('[data-testid="chaos-check-net_errors-no_5xx"]');
  await check.waitFor({ timeout: 30_000 });
  assert.equal(await check.getAttribute('data-passed'), 'false');
  assert.match(await check.innerText(), /503/);

  // The fix (the fault goes): the checks turn green.
  await byTestId(interviewer, 'chaos-deactivate-net_errors').click();
  await interviewer.locator('[data-testid="chaos-scenario-net_errors"][data-active="false"]').waitFor({ timeout: 10_000 });
  await byTestId(interviewer, 'chaos-checks-run').click();
  await interviewer.locator('[data-testid="chaos-check-net_errors-no_5xx"][data-passed="true"]').waitFor({ timeout: 30_000 });
  assert.match(await byTestId(interviewer, 'chaos-checks-results').innerText(), /1 of 1 checks passed/);
  // The run is on the timeline.
  await interviewer.locator('[data-testid="timeline-entry"]').getByText(/Recovery checks: 1 of 1 passed/).first().waitFor({ timeout: 10_000 });

  // Accessible, and a look at it.
  const { violations } = await runAxe(interviewer);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(blocking.length, 0, `accessibility violations:\n${formatViolations(blocking)}`);
  if (process.env.SCREENSHOT_DIR) {
    await interviewer.screenshot({ path: `${process.env.SCREENSHOT_DIR}/applive-checks.png` });
    await byTestId(interviewer, 'live-panel').scrollIntoViewIfNeeded();
    await interviewer.screenshot({ path: `${process.env.SCREENSHOT_DIR}/applive-live.png` });
  }

  // The candidate: no panel, no word of it, never a request for it, and the API refuses.
  assert.equal(await candidate.locator('[data-testid^="live-"], [data-testid^="chaos"]').count(), 0);
  const html = await candidate.content();
  assert.doesNotMatch(html, /chaos|live-panel|Recovery checks|Check the fix/i);
  assert.ok(!candidateUrls.some((u) => u.includes('/app/stats') || u.includes('/chaos')), 'the candidate page fetched the live view');
  const refused = await candidate.evaluate(
    ({ id, token }) =>
      Promise.all([
        fetch(`/api/sessions/${id}/app/stats`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status),
        fetch(`/api/sessions/${id}/chaos/checks`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status),
      ]),
    { id: session.id, token: session.candidate_token },
  );
  assert.deepEqual(refused, [403, 403]);
  const errors = [interviewer, candidate].flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
});

test('the Node exercise: the candidate saves from the terminal and from VS Code, the interviewer sees each save on the live view', async () => {
  const session = await createWorkspace(server.url, 'Payments live', 'payments-node');
  const interviewer = await openWorkspacePage(browser, session.interviewer_url, 'Ada');
  const candidate = await openWorkspacePage(browser, session.candidate_url, 'Cleo');
  await interviewer.locator('[data-testid="status-app-state"][data-state="running"]').waitFor({ timeout: 60_000 });
  await byTestId(interviewer, 'live-panel').waitFor({ timeout: 10_000 });
  await waitResponse(candidate, 'GET', '/customers/1/payments', (r) => r.status === 200, { timeout: 60_000 });
  const markers = byTestId(interviewer, 'live-markers');
  const marked = (label) => waitFor(async () => (await markers.count()) > 0 && (await markers.innerText()).includes(label), { timeout: 10_000, what: `"${label}" on the live view` });

  // A save from the terminal: a file the shared editor never opened.
  await waitTerminal(candidate);
  await typeInTerminal(candidate, 'echo "// seeded by hand" >> src/seed.ts\r');
  await marked('saved src/seed.ts');

  // VS Code opens the Node project; a save there is a marker too, and the app restarts on it.
  const { lines } = await openInVsCode(candidate, 'src/provider.ts', { contains: /export/ });
  await lines.click();
  await candidate.keyboard.press('Control+Home');
  await candidate.keyboard.type('// reviewed in VS Code', { delay: 5 });
  await candidate.keyboard.press('Enter');
  await candidate.keyboard.press('Control+S');
  await marked('saved src/provider.ts');
  await byTestId(candidate, 'open-vscode').click(); // back to the shared editor
  await waitResponse(candidate, 'GET', '/customers/1/payments', (r) => r.status === 200, { timeout: 30_000 });
  const errors = [interviewer, candidate].flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
});
