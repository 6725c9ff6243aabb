// Accounts in the browser: first-run setup from the link in the log, sign-in and out, the team's
// sessions list with search and filters, an invited colleague opening a team session without
// the link, the admin pages (invite, API keys, audit log), at 1280x800 with no serious axe
// violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitFor } from '../lib/server.mjs';
import { byTestId, formatViolations, launchBrowser, newPage, runAxe } from './browser.mjs';

const EMAIL = 'owner@example.com';
const PASSWORD = 'owner-password-123';
let server;
let browser;

before(async () => {
  // TEST_WEB_DIR serves a newer web build than the one embedded in the binary.
  server = await startServer(process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : [], { withAdmin: false });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function assertAccessible(page, where) {
  const { violations } = await runAxe(page);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(blocking.length, 0, `accessibility violations on ${where}:\n${formatViolations(blocking)}`);
}

async function fillAccount(page, { name, email, password }) {
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Password again').fill(password);
  await byTestId(page, 'account-submit').click();
}

async function createInUi(page, title) {
  await page.getByLabel('Title').fill(title);
  await byTestId(page, 'create-session').click();
  await byTestId(page, 'interviewer-link').waitFor();
}

const rowTitles = (page) => byTestId(page, 'session-row').locator('.recent-title').allInnerTexts();

test('first-run setup, the team list, an invited colleague, the admin pages, signing out', async () => {
  // The setup link is in the server's log.
  const link = await waitFor(() => /(http:\/\/\S+\/setup\?code=\S+)/.exec(server.log())?.[1], { what: 'the setup link in the log' });
  const owner = await newPage(browser);

  // Signed out, the home page is the sign-in page, which says setup is pending.
  await owner.goto(server.url);
  await byTestId(owner, 'setup-needed').waitFor();
  await assertAccessible(owner, 'the sign-in page');

  await owner.goto(link);
  await owner.getByRole('heading', { name: 'Set up interview-ide' }).waitFor();
  await assertAccessible(owner, 'the setup page');
  await fillAccount(owner, { name: 'Olga Owner', email: EMAIL, password: PASSWORD });
  await byTestId(owner, 'account-bar').waitFor();
  assert.match(await byTestId(owner, 'account-bar').innerText(), /owner@example\.com/);
  // The session list loads after the account bar: wait for it rather than look once.
  await byTestId(owner, 'sessions-empty').waitFor({ timeout: 5000 });

  // Sessions made here show in the team's list, newest first; search and the status filter work.
  await createInUi(owner, 'Backend round');
  await owner.getByRole('button', { name: 'Create another session' }).click();
  await createInUi(owner, 'Frontend round');
  await waitFor(async () => (await rowTitles(owner)).length === 2, { what: 'two rows' });
  assert.deepEqual(await rowTitles(owner), ['Frontend round', 'Backend round']);
  await byTestId(owner, 'sessions-search').fill('backend');
  await waitFor(async () => (await rowTitles(owner)).join() === 'Backend round', { what: 'the search' });
  await byTestId(owner, 'sessions-search').fill('');
  await byTestId(owner, 'sessions-status').selectOption('ended');
  await byTestId(owner, 'sessions-empty').waitFor();
  await byTestId(owner, 'sessions-status').selectOption('open');
  await waitFor(async () => (await rowTitles(owner)).length === 2, { what: 'the open sessions' });
  await assertAccessible(owner, 'the home page signed in');

  // Admin: an invite link for a colleague.
  await byTestId(owner, 'admin-link').click();
  await byTestId(owner, 'admin-users').waitFor();
  await assertAccessible(owner, 'the admin users page');
  await byTestId(owner, 'invite-create').click();
  const invite = await byTestId(owner, 'invite-link').inputValue();
  assert.match(invite, /\/invite\?code=/);

  // The colleague joins with the invite and sees the team's sessions without any session link.
  const colleague = await newPage(browser);
  await colleague.goto(invite);
  await colleague.getByText('You are invited to the team').waitFor();
  await assertAccessible(colleague, 'the invite page');
  await fillAccount(colleague, { name: 'Carl Colleague', email: 'carl@example.com', password: 'carl-password-123' });
  await byTestId(colleague, 'account-bar').waitFor();
  assert.equal(await byTestId(colleague, 'admin-link').count(), 0, 'an interviewer has no admin pages');
  await waitFor(async () => (await rowTitles(colleague)).length === 2, { what: "the colleague's list" });
  await byTestId(colleague, 'sessions-mine').check();
  await byTestId(colleague, 'sessions-empty').waitFor();
  await byTestId(colleague, 'sessions-mine').uncheck();
  // A guest co-interviewer gets a fresh interviewer link from the list; it opens the session without an account.
  const backendRow = byTestId(colleague, 'session-row').filter({ hasText: 'Backend round' });
  await backendRow.getByTestId('guest-link-create').click();
  const guestLink = await backendRow.getByTestId('guest-link').inputValue();
  assert.match(guestLink, /\/session\/[^/?]+\?token=/);
  await assertAccessible(colleague, 'the team list with a guest link');
  const guest = await newPage(browser);
  await guest.goto(guestLink);
  await byTestId(guest, 'name-input').fill('Gina Guest');
  await byTestId(guest, 'name-input').press('Enter');
  await waitFor(async () => (await byTestId(guest, 'role-badge').innerText()).toLowerCase().includes('interviewer'), { what: "the guest's role" });
  await colleague.getByRole('link', { name: 'Backend round' }).click();
  await byTestId(colleague, 'name-input').fill('Carl');
  await byTestId(colleague, 'name-input').press('Enter');
  await waitFor(async () => (await byTestId(colleague, 'role-badge').innerText()).toLowerCase().includes('interviewer'), { what: 'the interviewer role' });

  // Admin pages: an API key, shown once, then revoked; the audit log tells who did what.
  await owner.getByRole('tab', { name: 'API keys' }).click();
  // A key that may only read sessions, for 30 days.
  await byTestId(owner, 'key-name').fill('CI script');
  await byTestId(owner, 'key-scope-sessions:write').uncheck();
  await byTestId(owner, 'key-expiry').selectOption('30');
  await byTestId(owner, 'key-create').click();
  const secret = await byTestId(owner, 'key-secret').inputValue();
  assert.match(secret, /^iide_/);
  const keyRow = owner.locator('[data-testid="admin-key"][data-name="CI script"]');
  assert.equal(await keyRow.getByTestId('key-scopes').innerText(), 'Read sessions');
  const asKey = (method, path, body) =>
    fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  assert.equal((await asKey('GET', '/api/sessions')).status, 200, 'the key reads sessions');
  assert.equal((await asKey('POST', '/api/sessions', {})).status, 403, 'but creates none');
  assert.equal((await asKey('POST', '/api/keys', { name: 'successor' })).status, 403, 'and makes no key');
  await owner.reload();
  await owner.getByRole('tab', { name: 'API keys' }).click();
  await waitFor(async () => !/Never/.test(await keyRow.locator('td').nth(5).innerText()), { what: 'the key shown as used' });
  await keyRow.getByRole('button', { name: /Revoke/ }).click();
  await keyRow.getByText('Revoked').waitFor();
  await assertAccessible(owner, 'the API keys page');
  await owner.getByRole('tab', { name: 'Audit log' }).click();
  await byTestId(owner, 'admin-audit').waitFor();
  const audit = await byTestId(owner, 'admin-audit').innerText();
  for (const line of ['Session created', 'API key revoked', 'User created', 'carl@example.com']) assert.ok(audit.includes(line), `${line} in the audit log`);
  await assertAccessible(owner, 'the audit log');
  await owner.getByRole('tab', { name: 'All sessions' }).click();
  await byTestId(owner, 'admin-sessions').waitFor();

  // Signing out ends it; a wrong password is told plainly, then the right one signs in.
  await owner.getByRole('button', { name: 'Sign out' }).click();
  await byTestId(owner, 'signin-form').waitFor();
  await owner.getByLabel('Email').fill(EMAIL);
  await owner.getByLabel('Password').fill('not-my-password');
  await byTestId(owner, 'signin-submit').click();
  assert.match(await byTestId(owner, 'signin-error').innerText(), /Wrong email or password/);
  await owner.getByLabel('Password').fill(PASSWORD);
  await byTestId(owner, 'signin-submit').click();
  await byTestId(owner, 'account-bar').waitFor();

  assert.deepEqual(owner.errors.filter((e) => !/401|Unauthorized/.test(e)), []);
  assert.deepEqual(colleague.errors.filter((e) => !/401|Unauthorized/.test(e)), []);
});
