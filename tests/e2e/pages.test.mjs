// Accessibility of every screen a user passes through, and the screens shown for bad links.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createSession } from '../lib/server.mjs';
import { byTestId, signInBrowser, formatViolations, joinSession, launchBrowser, newPage, runAxe, waitOnline } from './browser.mjs';

let server;
let browser;
let pages = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

afterEach(async () => {
  await Promise.all(pages.map((p) => p.context().close()));
  pages = [];
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open() {
  const page = await newPage(browser);
  pages.push(page);
  return page;
}

/** Fails on any serious or critical axe violation, listing every violation found. */
async function assertAccessible(page, where) {
  const { passes, violations } = await runAxe(page);
  assert.ok(passes > 0, `axe checked nothing on ${where}`);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(blocking.length, 0, `accessibility violations on ${where}:\n${formatViolations(violations)}`);
}

test('the home page, its result and both session views have no serious accessibility violations', async () => {
  const interviewer = await open();
  await signInBrowser(interviewer, server.url);
  await interviewer.goto(server.url);
  await byTestId(interviewer, 'create-session').waitFor();
  await assertAccessible(interviewer, 'the home page');

  await byTestId(interviewer, 'create-session').click();
  await byTestId(interviewer, 'candidate-link').waitFor();
  await assertAccessible(interviewer, 'the home page with the new links');
  const candidateUrl = await byTestId(interviewer, 'candidate-link').inputValue();
  const interviewerUrl = await byTestId(interviewer, 'interviewer-link').inputValue();

  const candidate = await open();
  await candidate.goto(candidateUrl);
  await byTestId(candidate, 'name-input').waitFor();
  await assertAccessible(candidate, 'the join form');

  await joinSession(candidate, candidateUrl, 'Bob');
  await joinSession(interviewer, interviewerUrl, 'Ada');
  await waitOnline(interviewer, ['Ada', 'Bob']);
  await waitOnline(candidate, ['Ada', 'Bob']);
  await byTestId(interviewer, 'interviewer-panel').waitFor();
  await assertAccessible(interviewer, "the interviewer's session page");
  await assertAccessible(candidate, "the candidate's session page");
});

/** The error card: its heading, and a way forward to the home page. */
async function errorScreen(page) {
  const card = page.getByRole('alert');
  await card.waitFor({ timeout: 10_000 });
  return {
    heading: await card.getByRole('heading').innerText(),
    text: await card.innerText(),
    home: await card.getByRole('link', { name: 'Create a session' }).getAttribute('href'),
  };
}

test('a link with a wrong token shows a clear error, not a blank page', async () => {
  const session = await createSession(server.url);
  const page = await open();
  await page.goto(`${server.url}/session/${session.id}?token=not-a-real-token`);
  const screen = await errorScreen(page);
  assert.equal(screen.heading, 'This link is not valid');
  assert.match(screen.text, /Ask the interviewer for a new link/);
  assert.equal(screen.home, '/');
  assert.equal(await byTestId(page, 'name-input').count(), 0);
  assert.equal(await byTestId(page, 'editor').count(), 0);
  assert.equal(page.url().includes('not-a-real-token'), false, 'even a wrong token leaves the address bar');
  await assertAccessible(page, 'the invalid link screen');

  // Another session's token is just as invalid here.
  const other = await createSession(server.url);
  await page.goto(`${server.url}/session/${session.id}?token=${other.candidate_token}`);
  assert.equal((await errorScreen(page)).heading, 'This link is not valid');

  // No token at all (a fresh browser has no session cookie either).
  await page.goto(`${server.url}/session/${session.id}`);
  assert.equal((await errorScreen(page)).heading, 'This link is not valid');
});

test('a link to a session that does not exist, or to no page at all, says so', async () => {
  const page = await open();
  await page.goto(`${server.url}/session/nosuchsession?token=abc`);
  const missing = await errorScreen(page);
  assert.equal(missing.heading, 'No such session');
  assert.equal(missing.home, '/');

  await page.goto(`${server.url}/no/such/page`);
  const notFound = await errorScreen(page);
  assert.equal(notFound.heading, 'Page not found');
  assert.equal(notFound.home, '/');
});
