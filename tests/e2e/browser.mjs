// Shared helpers for the browser end-to-end tests: Debian's chromium driven by playwright-core.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { adminCookie, waitFor } from '../lib/server.mjs';

export const VIEWPORT = { width: 1280, height: 800 };

const executablePath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export function launchBrowser() {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh browser context (its own cookies and storage) with one page, at the test viewport. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  const page = await context.newPage();
  collectErrors(page);
  return page;
}

/** Records the page's uncaught errors and console errors in `page.errors`. */
export function collectErrors(page) {
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  return page;
}

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

/** Signs the page's browser context in as the test server's admin (the sign-in cookie). */
export async function signInBrowser(page, baseUrl) {
  await page.context().addCookies([{ name: 'iide_account', value: adminCookie(baseUrl), url: baseUrl, httpOnly: true, sameSite: 'Lax' }]);
}

/** Creates a session through the home page form (signed in) and returns both links as shown there. */
export async function createSessionInUi(page, baseUrl) {
  await signInBrowser(page, baseUrl);
  await page.goto(baseUrl);
  await byTestId(page, 'create-session').click();
  const interviewer = byTestId(page, 'interviewer-link');
  await interviewer.waitFor();
  return {
    interviewerUrl: await interviewer.inputValue(),
    candidateUrl: await byTestId(page, 'candidate-link').inputValue(),
  };
}

/** Opens a session link, enters a name, and waits until the shared editor is live. */
export async function joinSession(page, link, name) {
  await page.goto(link);
  const input = byTestId(page, 'name-input');
  await input.fill(name);
  await input.press('Enter');
  await waitLive(page);
}

/** Waits until the page shows the session connected and the editor holding the synced text. */
export async function waitLive(page) {
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="editor"] .monaco-editor').waitFor({ timeout: 10_000 });
  // The editor is read-only until the first sync; the starter code (never empty) shows once it is in.
  await waitFor(async () => (await editorText(page)).trim().length > 0, { timeout: 10_000, what: 'editor content' });
}

/**
 * The text the editor shows, line by line as a user sees it. Monaco renders lines as absolutely
 * positioned elements (not in document order) with non-breaking spaces, and only the lines in view:
 * the documents of these tests fit on one screen.
 */
export function editorText(page) {
  return page.evaluate(() => {
    const lines = [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-testid="editor"] .view-lines .view-line'))];
    return lines
      .map((el) => ({ top: parseFloat(el.style.top) || 0, text: el.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text)
      .join('\n');
  });
}

/** Polls until the editor's visible text satisfies `check`; the last text is in the error. */
export async function waitForText(page, check, { timeout = 5000, what = 'editor text' } = {}) {
  let last = '';
  try {
    await waitFor(async () => check((last = await editorText(page))), { timeout, what });
  } catch (e) {
    e.message += `\n--- editor shows ---\n${last}\n---`;
    throw e;
  }
}

/**
 * The remote cursors the page shows: for each, the name in its label and the text of its line.
 * y-monaco draws a remote caret as an element with the class yRemoteSelectionHead; the app's
 * style sheet colours it and puts the person's name in its ::after label.
 */
export function remoteCursors(page) {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll('[data-testid="editor"] .view-line')];
    return [...document.querySelectorAll('[data-testid="editor"] .yRemoteSelectionHead')]
      .filter((head) => {
        const r = head.getBoundingClientRect();
        const style = getComputedStyle(head);
        return r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none' && style.borderLeftWidth !== '0px';
      })
      .map((head) => {
        const top = head.getBoundingClientRect().top;
        const line = lines.find((el) => Math.abs(el.getBoundingClientRect().top - top) < 2);
        return {
          name: getComputedStyle(head, '::after').content.replace(/^"|"$/g, ''),
          line: line ? line.textContent.replace(/\u00a0/g, ' ') : null,
        };
      });
  });
}

/** The participant chips in the header, as { name, online, self, id }. */
export function participants(page) {
  return page.evaluate(() =>
    [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-testid="participants"] [data-testid="participant"]'))].map((li) => ({
      name: li.querySelector('.participant-name').firstChild.textContent.trim(),
      online: li.dataset.online === 'true',
      self: li.querySelector('.participant-name').textContent.includes('(you)'),
      id: li.dataset.participantId,
    })),
  );
}

/** Waits until the page lists everyone in `names` as online. */
export async function waitOnline(page, names, { timeout = 8000 } = {}) {
  let last = [];
  try {
    await waitFor(async () => {
      last = await participants(page);
      return names.every((n) => last.some((p) => p.name === n && p.online));
    }, { timeout, what: `${names.join(', ')} online` });
  } catch (e) {
    e.message += `\nparticipants shown: ${JSON.stringify(last)}`;
    throw e;
  }
}

/** Appends a line at the end of the document, typed key by key. */
export async function typeAtEnd(page, text) {
  await page.locator('[data-testid="editor"] .view-lines').click();
  await page.keyboard.press('Control+End');
  const lastLine = (await editorText(page)).split('\n').at(-1);
  if (lastLine.trim() !== '') await page.keyboard.press('Enter');
  await page.keyboard.type(text, { delay: 5 });
}

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core on the page as it is now. The page's CSP forbids inline scripts, so the source is
 * evaluated through the DevTools protocol, which the CSP does not govern, rather than as a <script>.
 */
export async function runAxe(page) {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await /** @type {any} */ (window).axe.run(document, { resultTypes: ['violations'] });
    return {
      passes: result.passes.length,
      violations: result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      })),
    };
  });
}

export function formatViolations(violations) {
  return violations
    .map((v) => `[${v.impact}] ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target}\n      ${(n.summary || '').replace(/\n/g, '\n      ')}`).join('\n')}`)
    .join('\n');
}

/** Browser context options that let a test paste code. */
export const CLIPBOARD = { permissions: ['clipboard-read', 'clipboard-write'] };

/** Replaces the editor's code the way a person does: select all, paste. */
export async function setCode(page, code) {
  await page.evaluate((text) => navigator.clipboard.writeText(text), code);
  await page.locator('[data-testid="editor"] .view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
  await waitFor(async () => (await editorText(page)).trim() === code.trim(), { timeout: 5000, what: 'pasted code' });
}

/** The run panel: status of the shown run, its output, and how many runs the history holds. */
export const runStatus = (page) => byTestId(page, 'run-status').getAttribute('data-status');
export const runOutput = (page) => byTestId(page, 'run-output').innerText();
export const runCount = (page) => page.locator('[data-testid="run-history"] [data-run-id]').count();
