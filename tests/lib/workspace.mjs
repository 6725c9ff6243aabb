// Helpers for the workspace and Chaos Engine browser tests: opening a workspace session, its
// per-file collaborative editors, the shared terminal (xterm.js) and the request console.
import { createSession, waitFor } from './server.mjs';
import { VIEWPORT, byTestId, collectErrors } from '../e2e/browser.mjs';

export const EXERCISE = 'trading-backend';

/** Creates a workspace session of the trading-backend exercise through the API. */
export function createWorkspace(url, title = 'Workspace test', exercise = EXERCISE) {
  return createSession(url, { title, kind: 'workspace', exercise });
}

/**
 * Opens a session link in a fresh browser context (own cookies and storage), enters a name and
 * waits until the workspace shows its file tree.
 */
export async function openWorkspacePage(browser, link, name, options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  const page = collectErrors(await context.newPage());
  await joinWorkspace(page, link, name);
  return page;
}

/** Opens a session link in `page`, enters a name and waits for the workspace's file tree. */
export async function joinWorkspace(page, link, name) {
  await page.goto(link);
  const input = byTestId(page, 'name-input');
  await input.fill(name);
  await input.press('Enter');
  await page.locator('.ide[data-kind="workspace"]').waitFor({ timeout: 15_000 });
  await byTestId(page, 'file-tree').waitFor({ timeout: 15_000 });
}

const pane = (path) => `.file-pane[data-path="${path}"]`;

/** Opens `path` (from its tab when open, else from the file tree) and waits until it is live. */
export async function openFile(page, path) {
  const tab = byTestId(page, `tab-${path}`);
  if (await tab.count()) {
    await tab.locator('[role="tab"]').click();
  } else {
    const row = byTestId(page, `file-${path}`);
    await row.waitFor({ timeout: 10_000 });
    await row.click();
  }
  await page.locator(`${pane(path)}:not([hidden]) .monaco-editor`).waitFor({ timeout: 10_000 });
  // Read-only with a spinner until the document's first sync.
  await page.locator(`${pane(path)} .editor-loading`).waitFor({ state: 'detached', timeout: 10_000 });
  await waitFor(async () => (await editorLines(page, path)).join('').trim().length > 0, { timeout: 10_000, what: `${path} content` });
}

/** The lines the editor of `path` shows, top to bottom (Monaco renders only those in view). */
export function editorLines(page, path) {
  return page.evaluate((sel) => {
    const lines = [.../** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(`${sel} .view-lines .view-line`))];
    return lines
      .map((el) => ({ top: parseFloat(el.style.top) || 0, text: el.textContent.replace(/\u00a0/g, ' ') }))
      .sort((a, b) => a.top - b.top)
      .map((l) => l.text);
  }, pane(path));
}

/** Polls the editor of `path` until `check(lines)` holds; the lines last seen are in the error. */
export async function waitEditor(page, path, check, { timeout = 8000, what = `${path} text` } = {}) {
  let last = [];
  try {
    await waitFor(async () => check((last = await editorLines(page, path))), { timeout, interval: 50, what });
  } catch (e) {
    e.message += `\n--- the editor shows ---\n${last.slice(0, 8).join('\n')}\n---`;
    throw e;
  }
}

/** Types `text` at the top of the open editor of `path`, as its own new first line. */
export async function typeFirstLine(page, path, text) {
  await page.locator(`${pane(path)} .view-lines`).click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.type(text, { delay: 5 });
  await page.keyboard.press('Enter');
}

/** A workspace file as it is on disk. */
export async function fileOnDisk(url, id, token, path) {
  const res = await fetch(`${url}/api/sessions/${id}/files/content?path=${encodeURIComponent(path)}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`files/content ${path}: ${res.status}`);
  return res.text();
}

/** Shows the bottom panel's `tab` (terminal or app). */
async function showPanel(page, tab) {
  if (await byTestId(page, 'panel-reopen').count()) await byTestId(page, 'panel-reopen').click();
  const button = byTestId(page, `panel-tab-${tab}`);
  if ((await button.getAttribute('aria-selected')) !== 'true') await button.click();
}

/** Shows the terminal and waits until it is connected and the shell has printed something. */
export async function waitTerminal(page) {
  await showPanel(page, 'terminal');
  await page.locator('[data-testid="terminal"][data-state="connected"]').waitFor({ timeout: 20_000 });
  await waitFor(async () => (await terminalText(page)).trim().length > 0, { timeout: 20_000, what: 'the shell prompt' });
}

/** The text xterm.js shows (its rows in view), one line per row. */
export function terminalText(page) {
  return page.evaluate(() => {
    const rows = document.querySelector('[data-testid="terminal"] .xterm-rows');
    return rows ? [...rows.children].map((r) => r.textContent.replace(/\u00a0/g, ' ')).join('\n') : '';
  });
}

/** Types into the shared terminal, a line at a time (`\r` presses Enter). */
export async function typeInTerminal(page, text) {
  await showPanel(page, 'terminal');
  await byTestId(page, 'terminal').click();
  const parts = text.split('\r');
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]) await page.keyboard.type(parts[i], { delay: 2 });
    if (i < parts.length - 1) await page.keyboard.press('Enter');
  }
}

/** Sends a request from the App panel's request console and returns what it shows. */
export async function sendRequest(page, method, path, { timeout = 15_000 } = {}) {
  await showPanel(page, 'app');
  const response = byTestId(page, 'response');
  const before = Number(await response.getAttribute('data-answered'));
  await byTestId(page, 'request-method').selectOption(method);
  await byTestId(page, 'request-path').fill(path);
  await byTestId(page, 'request-send').click();
  await page.locator(`[data-testid="response"][data-answered="${before + 1}"]`).waitFor({ timeout });
  const status = byTestId(page, 'response-status');
  const code = await status.getAttribute('data-status');
  const body = (await byTestId(page, 'response-body').count()) ? await byTestId(page, 'response-body').innerText() : '';
  return { status: code === null ? null : Number(code), statusText: await status.innerText(), body };
}

/** Sends a request until `check(response)` holds (faults can take a moment to apply or lift). */
export async function waitResponse(page, method, path, check, { timeout = 20_000, what = `${method} ${path}` } = {}) {
  let last = null;
  try {
    await waitFor(async () => check((last = await sendRequest(page, method, path))), { timeout, interval: 200, what });
  } catch (e) {
    e.message += `\nlast response: ${JSON.stringify(last)}`;
    throw e;
  }
  return last;
}

/**
 * Switches the candidate's page to VS Code (code-server) and opens `path` there with Quick Open;
 * returns the frame and the lines of its editor. The workbench takes a moment to index the
 * folder, so Quick Open is retried until it finds the file.
 */
export async function openInVsCode(page, path, { contains }) {
  await byTestId(page, 'open-vscode').click();
  const frame = page.frameLocator('[data-testid="vscode-frame"]');
  await frame.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  const name = path.split('/').pop();
  const lines = frame.locator(`.monaco-editor[data-uri$="/workspace/${path}"] .view-lines`);
  await waitFor(
    async () => {
      try {
        await frame.locator('.monaco-workbench').press('Control+P');
        const input = frame.locator('.quick-input-widget input');
        await input.waitFor({ timeout: 5000 });
        await input.pressSequentially(path, { delay: 10 });
        const row = frame.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
        await row.waitFor({ timeout: 5000 });
        await row.click();
        await lines.waitFor({ timeout: 5000 });
        return true;
      } catch {
        await page.keyboard.press('Escape');
        return false;
      }
    },
    { timeout: 40_000, interval: 500, what: `${path} open in VS Code` },
  );
  await waitFor(async () => contains.test(await lines.innerText()), { timeout: 15_000, what: `${path} in VS Code` });
  return { frame, lines };
}
