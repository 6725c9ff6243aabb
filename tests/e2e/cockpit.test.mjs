// The interviewer's cockpit: private notes, timeline, replay, ending a session, the report, the
// sessions list of the home page and the operator's page.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import {
  VIEWPORT,
  byTestId,
  collectErrors,
  editorText,
  formatViolations,
  joinSession,
  launchBrowser,
  runAxe,
  signInBrowser,
  typeAtEnd,
  waitForText,
  waitOnline,
} from './browser.mjs';

const ADMIN_TOKEN = `admin-${randomBytes(8).toString('hex')}`;

let server;
let browser;
let contexts = [];

before(async () => {
  // TEST_WEB_DIR serves a newer web build than the one embedded in the binary.
  const web = process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : [];
  server = await startServer(['--admin-token', ADMIN_TOKEN, ...web]);
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  contexts = [];
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  contexts.push(context);
  return collectErrors(await context.newPage());
}

const unique = (label) => `${label}_${randomBytes(4).toString('hex')}`;

function assertNoPageErrors(...pages) {
  const errors = pages.flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
}

/** The text of a Monaco editor inside the element with `testId`, in line order. */
function monacoText(page, testId) {
  return page.evaluate((id) => {
    const lines = [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(`[data-testid="${id}"] .view-lines .view-line`))];
    return lines
      .map((el) => ({ top: parseFloat(el.style.top) || 0, text: el.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n');
  }, testId);
}

/** Fails on any serious or critical axe violation. */
async function assertAccessible(page, where) {
  const { violations } = await runAxe(page);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(blocking.length, 0, `accessibility violations on ${where}:\n${formatViolations(blocking)}`);
}

const timelineTexts = (page) => page.locator('[data-testid="timeline-entry"]').allInnerTexts();

async function waitTimeline(page, pattern) {
  let last = [];
  await waitFor(async () => (last = await timelineTexts(page)).some((t) => pattern.test(t)), {
    timeout: 8000,
    what: `timeline entry ${pattern}`,
  }).catch((e) => assert.fail(`${e.message}; timeline: ${JSON.stringify(last)}`));
}

const replayText = (page) => byTestId(page, 'replay-view').innerText();

/** Moves the replay scrubber the way an input event from the user does. */
function scrubTo(page, ms) {
  return byTestId(page, 'replay-scrubber').evaluate((el, value) => {
    const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    set.call(el, String(value));
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, ms);
}

test('interviewer cockpit: notes, timeline, replay, end of session and report', async () => {
  const session = await createSession(server.url, { title: 'Cockpit test', language: 'python' });
  const interviewer = await newPage({ acceptDownloads: true });
  const candidate = await newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await joinSession(candidate, session.candidate_url, 'Cleo');
  await waitOnline(interviewer, ['Ada', 'Cleo']);

  // Private notes, with a time mark.
  await byTestId(interviewer, 'interviewer-panel').waitFor();
  const note = unique('note');
  const notes = byTestId(interviewer, 'notes');
  await notes.locator('.monaco-editor').waitFor();
  await waitFor(async () => byTestId(interviewer, 'notes-mark').isEnabled(), { what: 'notes ready' });
  await notes.locator('.view-lines').click();
  await interviewer.keyboard.type(`${note} `, { delay: 5 });
  await byTestId(interviewer, 'notes-mark').click();
  await interviewer.keyboard.type('good question', { delay: 5 });
  await waitFor(async () => /\[\d\d:\d\d\] good question/.test(await monacoText(interviewer, 'notes')), { what: 'the time mark in the notes' });
  assert.ok((await monacoText(interviewer, 'notes')).includes(note));

  // The candidate has none of it, and the server refuses the notes document to the candidate.
  await candidate.locator('#ide-sidebar').waitFor();
  for (const id of ['interviewer-panel', 'notes', 'notes-mark', 'timeline', 'replay-scrubber', 'replay-view', 'end-session', 'scorecard', 'export-report']) {
    assert.equal(await byTestId(candidate, id).count(), 0, `the candidate has no ${id}`);
  }
  const refused = await candidate.evaluate(
    ({ id, token }) =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/api/sessions/${id}/docs/notes?token=${token}`);
        ws.onopen = () => {
          ws.close();
          resolve('opened');
        };
        ws.onerror = () => resolve('refused');
        ws.onclose = () => resolve('refused');
      }),
    { id: session.id, token: session.candidate_token },
  );
  assert.equal(refused, 'refused', 'the notes WebSocket is refused to the candidate');
  const events403 = await candidate.evaluate(
    ({ id, token }) => fetch(`/api/sessions/${id}/events`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.status),
    { id: session.id, token: session.candidate_token },
  );
  assert.equal(events403, 403);
  assert.ok(!(await editorText(candidate)).includes(note));

  // Some history: a line, a language change, another line.
  const first = `x = ${unique('first')}`;
  await typeAtEnd(candidate, first);
  await waitForText(interviewer, (t) => t.includes(first));
  await new Promise((r) => setTimeout(r, 1200));
  const between = Date.now();
  await new Promise((r) => setTimeout(r, 300));
  await interviewer.locator('[data-testid="language-picker"]').selectOption('javascript');
  await new Promise((r) => setTimeout(r, 1200));
  const second = `y = ${unique('second')}`;
  await typeAtEnd(candidate, second);
  await waitForText(interviewer, (t) => t.includes(second));

  // The timeline, in plain words.
  await waitTimeline(interviewer, /Cleo joined as candidate/);
  await waitTimeline(interviewer, /Language changed to JavaScript/);

  // A large paste by the candidate shows on the interviewer's timeline.
  const pasted = `# ${'pasted from somewhere else '.repeat(10)}\n`;
  await candidate.evaluate((text) => navigator.clipboard.writeText(text), pasted);
  await candidate.locator('[data-testid="editor"] .view-lines').click();
  await candidate.keyboard.press('Control+End');
  await candidate.keyboard.press('Control+V');
  await waitTimeline(interviewer, new RegExp(`Large paste into the editor \\(${pasted.length} characters\\)`));

  // Replay: the live state, then an earlier moment from the scrubber, then from the timeline.
  await waitFor(async () => (await replayText(interviewer)).includes(second), { timeout: 8000, what: 'the replay catching up' }).catch(async (e) =>
    assert.fail(`${e.message}: ${await replayText(interviewer)}`),
  );
  await scrubTo(interviewer, between);
  await waitFor(async () => {
    const t = await replayText(interviewer);
    return t.includes(first) && !t.includes(second);
  }, { what: 'the earlier code in the replay' }).catch(async (e) => assert.fail(`${e.message}: ${await replayText(interviewer)}`));
  await byTestId(interviewer, 'replay-play').click();
  await waitFor(async () => (await replayText(interviewer)).includes(second), { timeout: 10_000, what: 'playing to the end' });
  await interviewer.locator('[data-testid="timeline-entry"]', { hasText: 'Language changed to JavaScript' }).click();
  await waitFor(async () => {
    const t = await replayText(interviewer);
    return t.includes(first) && !t.includes(second);
  }, { what: 'the replay at the language change' });

  await assertAccessible(interviewer, 'the interviewer cockpit');

  // Ending the session, with a confirmation.
  await byTestId(interviewer, 'end-session').click();
  await byTestId(interviewer, 'end-session-dialog').getByRole('button', { name: 'End session' }).click();
  for (const page of [candidate, interviewer]) {
    await byTestId(page, 'ended-banner').waitFor({ timeout: 5000 });
    assert.match(await byTestId(page, 'ended-banner').innerText(), /This session ended at \d\d:\d\d\. The code is read-only\./);
    assert.equal(await byTestId(page, 'language-picker').isDisabled(), true);
  }
  const frozen = await editorText(candidate);
  await candidate.locator('[data-testid="editor"] .view-lines').click();
  await candidate.keyboard.press('Control+End');
  await candidate.keyboard.type('zzz_after_end', { delay: 5 });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await editorText(candidate), frozen, "the candidate's editor refuses typing");
  assert.equal(await byTestId(candidate, 'run-button').isDisabled(), true, 'nothing runs after the end');
  await waitTimeline(interviewer, /Session ended/);

  // A reload keeps the ended state.
  await candidate.reload();
  await byTestId(candidate, 'ended-banner').waitFor({ timeout: 10_000 });
  await waitForText(candidate, (t) => t.includes(second));

  // The report.
  const [download] = await Promise.all([interviewer.waitForEvent('download'), byTestId(interviewer, 'export-report').click()]);
  assert.equal(download.suggestedFilename(), `interview-${session.id}.html`);
  const html = readFileSync(await download.path(), 'utf8');
  assert.match(html, /<html/i);
  assert.ok(html.includes(first.split(' = ')[1]) && html.includes(second.split(' = ')[1]), 'the report holds the code');
  assert.ok(html.includes(note), 'the report holds the notes');

  assertNoPageErrors(interviewer, candidate);
});

test('the scorecard saves itself', async () => {
  const session = await createSession(server.url);
  const page = await newPage();
  await joinSession(page, session.interviewer_url, 'Ada');
  const card = byTestId(page, 'scorecard');
  await card.waitFor();
  await card.getByRole('radio', { name: '3, Yes' }).first().check();
  await card.getByLabel('Comment on Problem solving').fill('Found the edge cases');
  await waitFor(async () => (await byTestId(page, 'scorecard-state').innerText()).includes('Saved'), { what: 'saved' });
  const saved = await page.evaluate(
    ({ id, token }) => fetch(`/api/sessions/${id}/scorecard`, { headers: { Authorization: `Bearer ${token}` } }).then((r) => r.json()),
    { id: session.id, token: session.interviewer_token },
  );
  assert.deepEqual(saved.ratings, [{ skill: 'Problem solving', score: 3, comment: 'Found the edge cases' }]);
  assertNoPageErrors(page);
});

test("the home page lists the team's sessions, with their status", async () => {
  const page = await newPage();
  await signInBrowser(page, server.url);
  await page.goto(server.url);
  const title = unique('Listed');
  await page.getByLabel('Title').fill(title);
  await byTestId(page, 'create-session').click();
  await byTestId(page, 'interviewer-link').waitFor();
  const link = await byTestId(page, 'interviewer-link').inputValue();

  await page.goto(server.url);
  const row = byTestId(page, 'sessions-list').locator('[data-testid="session-row"]', { hasText: title });
  await row.waitFor();
  await waitFor(async () => (await row.getAttribute('data-status')) === 'open', { what: 'status open' });
  assert.match(await row.innerText(), /Open/);
  // The team opens its sessions without the link's token: the sign-in is enough.
  assert.equal(await row.getByRole('link', { name: title, exact: true }).getAttribute('href'), `/session/${new URL(link).pathname.split('/').pop()}`);
  assertNoPageErrors(page);
});

test('the operator page lists every session and deletes one', async () => {
  const keep = await createSession(server.url, { title: unique('Keep') });
  const doomed = await createSession(server.url, { title: unique('Doomed') });
  const page = await newPage();
  await page.goto(`${server.url}/admin`);
  await byTestId(page, 'admin-token').fill('wrong');
  await byTestId(page, 'admin-signin').click();
  await page.getByText('The server refused this admin token.').waitFor();
  await byTestId(page, 'admin-token').fill(ADMIN_TOKEN);
  await byTestId(page, 'admin-signin').click();

  const rowOf = (id) => page.locator(`[data-testid="admin-session"][data-session-id="${id}"]`);
  await rowOf(doomed.id).waitFor();
  await rowOf(keep.id).waitFor();
  assert.match(await rowOf(doomed.id).innerText(), /Open/);

  await rowOf(doomed.id).getByRole('button', { name: /Delete/ }).click();
  await byTestId(page, 'delete-dialog').getByRole('button', { name: 'Delete' }).click();
  await waitFor(async () => (await rowOf(doomed.id).count()) === 0, { what: 'the row gone' });
  await assertAccessible(page, 'the operator page');
  assert.equal(await rowOf(keep.id).count(), 1);
  const status = await fetch(`${server.url}/api/sessions/${doomed.id}`, { headers: { Authorization: `Bearer ${doomed.interviewer_token}` } }).then((r) => r.status);
  assert.equal(status, 404, 'the deleted session is gone on the server');

  // The token stays for this tab only.
  await page.reload();
  await rowOf(keep.id).waitFor();
  assertNoPageErrors(page);
});
