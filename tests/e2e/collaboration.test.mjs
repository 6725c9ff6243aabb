// An interviewer and a candidate in one session, each in a real browser.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import {
  VIEWPORT,
  byTestId,
  collectErrors,
  createSessionInUi,
  editorText,
  joinSession,
  launchBrowser,
  participants,
  remoteCursors,
  typeAtEnd,
  waitForText,
  waitLive,
  waitOnline,
} from './browser.mjs';

let server;
let browser;
let contexts = [];

before(async () => {
  server = await startServer();
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

/** A new browser context, as if a different person on a different machine. */
async function newContext() {
  const context = await browser.newContext({ viewport: VIEWPORT });
  contexts.push(context);
  return context;
}

async function newPage(context) {
  return collectErrors(await (context ?? (await newContext())).newPage());
}

const unique = (label) => `${label}_${randomBytes(4).toString('hex')}`;

function assertNoPageErrors(...pages) {
  const errors = pages.flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
}

/** Both people in a session made through the API, each in their own browser context, joined. */
async function twoPeople() {
  const session = await createSession(server.url);
  const interviewer = await newPage();
  const candidate = await newPage();
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await joinSession(candidate, session.candidate_url, 'Bob');
  await waitOnline(interviewer, ['Ada', 'Bob']);
  await waitOnline(candidate, ['Ada', 'Bob']);
  return { session, interviewer, candidate };
}

test('a session made on the home page: both links work, each side sees the other live', async () => {
  const interviewer = await newPage();
  const { interviewerUrl, candidateUrl } = await createSessionInUi(interviewer, server.url);
  const linkPattern = new RegExp(`^${server.url}/session/([A-Za-z0-9_-]+)\\?token=([A-Za-z0-9_-]+)$`);
  const [, ivId, ivToken] = interviewerUrl.match(linkPattern) ?? assert.fail(`interviewer link: ${interviewerUrl}`);
  const [, cdId, cdToken] = candidateUrl.match(linkPattern) ?? assert.fail(`candidate link: ${candidateUrl}`);
  assert.equal(ivId, cdId, 'both links open the same session');
  assert.notEqual(ivToken, cdToken);

  const candidate = await newPage();
  await joinSession(interviewer, interviewerUrl, 'Ada');
  await joinSession(candidate, candidateUrl, 'Bob');

  assert.equal(await byTestId(interviewer, 'role-badge').innerText(), 'Interviewer');
  assert.equal(await byTestId(candidate, 'role-badge').innerText(), 'Candidate');

  // The secret token leaves the address bar (and so history, bookmarks and screen shares).
  for (const [page, token] of [[interviewer, ivToken], [candidate, cdToken]]) {
    assert.equal(page.url(), `${server.url}/session/${ivId}`);
    assert.ok(!page.url().includes(token));
  }

  await waitOnline(interviewer, ['Ada', 'Bob']);
  await waitOnline(candidate, ['Ada', 'Bob']);
  assert.deepEqual((await participants(interviewer)).filter((p) => p.self).map((p) => p.name), ['Ada']);
  assert.deepEqual((await participants(candidate)).filter((p) => p.self).map((p) => p.name), ['Bob']);
  for (const page of [interviewer, candidate]) {
    const state = byTestId(page, 'connection-state');
    assert.equal(await state.getAttribute('data-state'), 'connected');
    assert.equal(await state.innerText(), 'Connected');
  }

  // Typing shows up on the other side, both ways.
  const fromAda = `# ${unique('from_ada')}`;
  await typeAtEnd(interviewer, fromAda);
  await waitForText(candidate, (t) => t.includes(fromAda), { what: "the interviewer's typing at the candidate" });
  const fromBob = `# ${unique('from_bob')}`;
  await typeAtEnd(candidate, fromBob);
  await waitForText(interviewer, (t) => t.includes(fromBob), { what: "the candidate's typing at the interviewer" });
  assert.equal(await editorText(interviewer), await editorText(candidate));

  // The interviewer sees the candidate's caret, labelled with the name, where the candidate typed.
  let cursors = [];
  await waitFor(async () => {
    cursors = await remoteCursors(interviewer);
    return cursors.some((c) => c.name === 'Bob' && c.line?.includes(fromBob));
  }, { what: "Bob's cursor at the interviewer" }).catch((e) => assert.fail(`${e.message}: ${JSON.stringify(cursors)}`));
  await waitFor(async () => (cursors = await remoteCursors(candidate)).some((c) => c.name === 'Ada'), {
    what: "Ada's cursor at the candidate",
  }).catch((e) => assert.fail(`${e.message}: ${JSON.stringify(cursors)}`));

  // The interviewer's panel exists for the interviewer only: not hidden, absent.
  await byTestId(interviewer, 'interviewer-panel').waitFor();
  assert.equal(await byTestId(interviewer, 'interviewer-panel').count(), 1);
  await candidate.locator('#ide-sidebar').waitFor();
  assert.equal(await byTestId(candidate, 'interviewer-panel').count(), 0);
  assert.equal(await candidate.getByRole('tab', { name: 'Interviewer' }).count(), 0);

  assertNoPageErrors(interviewer, candidate);
});

test('reloading keeps the code and the participant, without asking for the name again', async () => {
  const { interviewer, candidate } = await twoPeople();
  const before = (await participants(candidate)).find((p) => p.self);

  const line = `# ${unique('kept')}`;
  await typeAtEnd(candidate, line);
  // Once the interviewer has it, the server has it.
  await waitForText(interviewer, (t) => t.includes(line));

  await candidate.reload();
  const first = candidate.locator('[data-testid="name-input"], [data-testid="connection-state"][data-state="connected"]').first();
  await first.waitFor({ timeout: 10_000 });
  assert.equal(await byTestId(candidate, 'name-input').count(), 0, 'the name is not asked again after a reload');
  await waitLive(candidate);
  await waitForText(candidate, (t) => t.includes(line));
  assert.equal(await byTestId(candidate, 'role-badge').innerText(), 'Candidate');
  assert.equal(candidate.url().includes('token='), false);

  // Same participant as before the reload, back online for the interviewer too.
  const after = (await participants(candidate)).find((p) => p.self);
  assert.equal(after?.id, before.id);
  assert.equal(after?.name, 'Bob');
  await waitOnline(interviewer, ['Ada', 'Bob']);
  assert.equal((await participants(interviewer)).length, 2);

  // The reconnect neither duplicates nor loses text.
  await waitFor(async () => (await editorText(candidate)) === (await editorText(interviewer)), { what: 'same text on both sides' });
  assert.equal((await editorText(candidate)).split(line).length, 2, 'the typed line appears exactly once');
  assertNoPageErrors(interviewer, candidate);
});

test('two tabs of one browser keep their own roles, also after reloading', async () => {
  const session = await createSession(server.url);
  const context = await newContext();
  const interviewer = await newPage(context);
  const candidate = await newPage(context);
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await joinSession(candidate, session.candidate_url, 'Bob');

  const checkRoles = async () => {
    assert.equal(await byTestId(interviewer, 'role-badge').innerText(), 'Interviewer');
    assert.equal(await byTestId(candidate, 'role-badge').innerText(), 'Candidate');
    await byTestId(interviewer, 'interviewer-panel').waitFor();
    await candidate.locator('#ide-sidebar').waitFor();
    assert.equal(await byTestId(candidate, 'interviewer-panel').count(), 0);
  };
  await checkRoles();

  // The candidate joined last, so the session cookie of this browser is the candidate's; the
  // interviewer tab must still come back as the interviewer.
  for (const page of [interviewer, candidate]) {
    await page.reload();
    await waitLive(page);
    assert.equal(await byTestId(page, 'name-input').count(), 0);
  }
  await checkRoles();
  await waitOnline(interviewer, ['Ada', 'Bob']);
  await waitOnline(candidate, ['Ada', 'Bob']);

  const line = `# ${unique('tab')}`;
  await candidate.bringToFront();
  await typeAtEnd(candidate, line);
  await waitForText(interviewer, (t) => t.includes(line));
  assertNoPageErrors(interviewer, candidate);
});

/** Whether `word` on the first line is coloured differently from `other` (a plain identifier). */
function highlightedApart(page, word, other) {
  return page.evaluate(([w, o]) => {
    const spans = [...document.querySelectorAll('[data-testid="editor"] .view-line span span')];
    const color = (text) => {
      const span = spans.find((s) => s.textContent.includes(text));
      return span ? getComputedStyle(span).color : null;
    };
    const a = color(w);
    const b = color(o);
    return a !== null && b !== null && a !== b;
  }, [word, other]);
}

test("the candidate's language choice reaches the interviewer's picker and editor", async () => {
  const { interviewer, candidate } = await twoPeople();
  const picker = (page) => byTestId(page, 'language-picker');
  const tab = (page) => page.locator('.editor-tab');

  assert.equal(await picker(interviewer).inputValue(), 'python');
  assert.equal(await tab(interviewer).innerText(), 'main.py');
  // Python highlighting: `def` is a keyword, coloured apart from the name after it.
  assert.equal(await highlightedApart(interviewer, 'def', 'greet'), true);

  await picker(candidate).selectOption('javascript');

  await waitFor(async () => (await picker(interviewer).inputValue()) === 'javascript', { what: "interviewer's picker" });
  await waitFor(async () => (await tab(interviewer).innerText()) === 'main.js', { what: "interviewer's file name" });
  await waitFor(async () => (await interviewer.locator('.status-bar').innerText()).includes('JavaScript'), { what: 'status bar' });
  // JavaScript highlighting: `def` is an ordinary identifier now.
  await waitFor(async () => !(await highlightedApart(interviewer, 'def', 'greet')), { what: 'JavaScript highlighting' });
  assert.equal(await picker(candidate).inputValue(), 'javascript');
  assert.equal(await tab(candidate).innerText(), 'main.js');
  assertNoPageErrors(interviewer, candidate);
});

test("undo takes back only one's own typing, not the other person's", async () => {
  const { interviewer, candidate } = await twoPeople();
  const starter = await editorText(interviewer);

  const mine = `# ${unique('interviewer')}`;
  await typeAtEnd(interviewer, mine);
  await waitForText(candidate, (t) => t.includes(mine));
  const theirs = `# ${unique('candidate')}`;
  await typeAtEnd(candidate, theirs);
  await waitForText(interviewer, (t) => t.includes(theirs));

  // Only the interviewer's line goes: the candidate's line (and the newline they typed) stays.
  const expected = `${starter}\n${theirs}`;
  let text = await editorText(interviewer);
  assert.equal(text, `${starter}${mine}\n${theirs}`);
  // Quick typing is one undo step; a slow machine may split it in a few, so press as a person would.
  for (let presses = 0; text !== expected; presses++) {
    assert.ok(presses < 8, `still not undone after ${presses} presses:\n${text}`);
    await interviewer.keyboard.press('Control+z');
    const before = text;
    await waitFor(async () => (text = await editorText(interviewer)) !== before, { timeout: 3000, what: 'an undo step' });
    assert.ok(text.includes(theirs), `the candidate's line was undone:\n${text}`);
  }
  await waitForText(candidate, (t) => t === expected, { what: 'the undo at the candidate' });

  // With nothing of the interviewer's left to undo, Ctrl+Z leaves the candidate's typing alone.
  await interviewer.keyboard.press('Control+z');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await editorText(interviewer), expected);
  assert.equal(await editorText(candidate), expected);
  assertNoPageErrors(interviewer, candidate);
});

test('the interviewer replaces the candidate link: the old one is cut off at once, the new one works', async () => {
  const { session, interviewer, candidate } = await twoPeople();
  interviewer.once('dialog', (d) => d.accept());
  await byTestId(interviewer, 'new-candidate-link').click();
  await waitFor(async () => /New link/.test(await byTestId(interviewer, 'new-candidate-link').innerText()), { what: 'the new link made' });
  // The old link's page is told why, and the interviewer sees the candidate leave.
  await waitFor(async () => /link no longer works/.test(await candidate.locator('.status-bar').innerText()), { timeout: 5000, what: "the candidate's notice" });
  await waitFor(async () => !(await participants(interviewer)).some((p) => p.name === 'Bob' && p.online), { timeout: 10_000, what: 'the old link gone' });
  const res = await fetch(`${server.url}/api/sessions/${session.id}`, { headers: { authorization: `Bearer ${session.candidate_token}` } });
  assert.equal(res.status, 401, 'the old token opens nothing');
  // The new link (as the API hands it to the interviewer's page) joins as the candidate.
  const fresh = await (
    await fetch(`${server.url}/api/sessions/${session.id}/candidate-link`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.interviewer_token}`, 'content-type': 'application/json' },
      body: '{}',
    })
  ).json();
  const next = await newPage();
  await joinSession(next, fresh.candidate_url, 'Bob again');
  await waitOnline(interviewer, ['Ada', 'Bob again']);
  assertNoPageErrors(interviewer);
});
