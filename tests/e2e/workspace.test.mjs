// Workspace sessions in a real browser against the real server and sandbox: the file tree, the
// collaborative editor of each file and its sync with the disk, the shared terminal, the app panel
// (logs and request console), VS Code (code-server), accessibility and a screenshot.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, waitFor } from '../lib/server.mjs';
import { VIEWPORT, byTestId, signInBrowser, collectErrors, formatViolations, launchBrowser, runAxe } from './browser.mjs';
import {
  createWorkspace,
  fileOnDisk,
  joinWorkspace,
  openFile,
  openInVsCode,
  openWorkspacePage,
  sendRequest,
  terminalText,
  typeFirstLine,
  typeInTerminal,
  waitEditor,
  waitTerminal,
} from '../lib/workspace.mjs';

// The README's screenshot is rewritten only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves
// the tree clean; otherwise it still renders, into a temporary file.
const screenshotPath = process.env.UPDATE_SCREENSHOTS
  ? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshot-workspace.png')
  : join(tmpdir(), 'interview-ide-screenshot-workspace.png');

let server;
let browser;
/** The session every test works in: created through the home page by the first test. */
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

const unique = (label) => `${label}_${randomBytes(4).toString('hex')}`;

/** The shared session (made through the API when the first test did not run or failed). */
async function workspace() {
  if (!ws) {
    const session = await createWorkspace(server.url);
    const interviewer = await openWorkspacePage(browser, session.interviewer_url, 'Ada');
    const candidate = await openWorkspacePage(browser, session.candidate_url, 'Cleo');
    ws = { session, id: session.id, token: session.interviewer_token, interviewer, candidate };
  }
  return ws;
}

function assertNoPageErrors(...pages) {
  const errors = pages.flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
}

test('the interviewer creates a workspace on the home page; both see the file tree', async () => {
  const context = await browser.newContext({ viewport: VIEWPORT, permissions: ['clipboard-read', 'clipboard-write'] });
  const interviewer = collectErrors(await context.newPage());
  await signInBrowser(interviewer, server.url);
  await interviewer.goto(server.url);
  await byTestId(interviewer, 'kind-workspace').check();
  const picker = byTestId(interviewer, 'exercise-picker');
  await picker.locator('option[value="trading-backend"]').waitFor({ state: 'attached', timeout: 10_000 });
  await picker.selectOption('trading-backend');
  await byTestId(interviewer, 'exercise-description').waitFor();
  // The picker says what the exercise is built with, how long it takes and what it probes.
  assert.match(await byTestId(interviewer, 'exercise-stack').innerText(), /FastAPI/);
  assert.match(await byTestId(interviewer, 'exercise-duration').innerText(), /60 min/);
  assert.match(await byTestId(interviewer, 'exercise-probes').innerText(), /N\+1/);
  await byTestId(interviewer, 'create-session').click();
  await byTestId(interviewer, 'interviewer-link').waitFor({ timeout: 15_000 });
  const interviewerUrl = await byTestId(interviewer, 'interviewer-link').inputValue();
  const candidateUrl = await byTestId(interviewer, 'candidate-link').inputValue();
  const id = new URL(interviewerUrl).pathname.split('/').at(-1);
  const token = new URL(interviewerUrl).searchParams.get('token');
  const candidateToken = new URL(candidateUrl).searchParams.get('token');

  // The interviewer goes on from the home page in the same tab; the candidate is elsewhere.
  await joinWorkspace(interviewer, interviewerUrl, 'Ada');
  const candidate = await openWorkspacePage(browser, candidateUrl, 'Cleo');
  ws = { session: { id, interviewer_token: token, candidate_token: candidateToken }, id, token, interviewer, candidate };

  // The header offers the candidate link the home page gave.
  await interviewer.getByRole('button', { name: 'Copy candidate link' }).click();
  assert.equal(await interviewer.evaluate(() => navigator.clipboard.readText()), candidateUrl);
  assert.match(await byTestId(interviewer, 'session-exercise').innerText(), /Trading backend/);
  for (const page of [interviewer, candidate]) {
    const tree = byTestId(page, 'file-tree');
    await tree.waitFor();
    await byTestId(page, 'file-app').waitFor();
    // The app folder is listed; its main.py shows once it is expanded (it is by default).
    await byTestId(page, 'file-app/main.py').waitFor({ timeout: 10_000 });
  }
  assert.match(await byTestId(interviewer, 'role-badge').innerText(), /interviewer/i);
  assert.match(await byTestId(candidate, 'role-badge').innerText(), /candidate/i);
  assertNoPageErrors(interviewer, candidate);
});

test('what the candidate types reaches the interviewer and the disk', async () => {
  const { interviewer, candidate, id, token } = await workspace();
  await openFile(candidate, 'app/main.py');
  await openFile(interviewer, 'app/main.py');
  const line = `# typed ${unique('by_candidate')}`;
  await typeFirstLine(candidate, 'app/main.py', line);
  await waitEditor(interviewer, 'app/main.py', (lines) => lines.includes(line), { what: 'the line in the interviewer editor' });
  await waitFor(async () => (await fileOnDisk(server.url, id, token, 'app/main.py')).includes(line), {
    timeout: 8000,
    what: 'the line in app/main.py on disk',
  });
  // The interviewer's replay follows the file on screen and holds the candidate's line.
  await interviewer.getByRole('button', { name: 'Replay: app/main.py' }).waitFor();
  await waitFor(async () => (await interviewer.locator('#cockpit-replay').innerText()).includes(line.slice(2)), {
    timeout: 10_000,
    what: 'the typed line in the replay of app/main.py',
  });
  assert.equal(await candidate.getByText('Replay:').count(), 0);
  assertNoPageErrors(interviewer, candidate);
});

test('the shared terminal: the candidate runs pytest, the interviewer watches and cannot type', async () => {
  const { interviewer, candidate, id } = await workspace();
  await waitTerminal(candidate);
  await waitTerminal(interviewer);
  await typeInTerminal(candidate, 'pytest -q\r');
  await waitFor(async () => /\d+ passed/.test(await terminalText(interviewer)), {
    timeout: 60_000,
    interval: 200,
    what: 'pytest passing in the interviewer terminal',
  }).catch(async (e) => assert.fail(`${e.message}\n--- interviewer terminal ---\n${await terminalText(interviewer)}`));
  assert.match(await terminalText(candidate), /\d+ passed/);

  // The interviewer's keystrokes do not reach the shell: neither typed in the page nor sent by hand.
  const typed = unique('interviewer_typed');
  const sent = unique('interviewer_sent');
  await byTestId(interviewer, 'terminal-readonly').waitFor();
  await byTestId(interviewer, 'terminal').click();
  await interviewer.keyboard.type(`echo ${typed}\r`, { delay: 5 });
  const raw = await interviewer.evaluate(
    ({ id, token, sent }) =>
      new Promise((resolve) => {
        const socket = new WebSocket(`${location.origin.replace('http', 'ws')}/api/sessions/${id}/terminal?token=${token}`);
        socket.onopen = () => {
          socket.send(JSON.stringify({ type: 'input', data: `echo ${sent}\r` }));
          setTimeout(() => {
            socket.close();
            resolve('sent');
          }, 300);
        };
        socket.onerror = () => resolve('refused');
      }),
    { id, token: ws.session.interviewer_token, sent },
  );
  assert.ok(['sent', 'refused'].includes(raw));
  // Something the candidate types after it shows up; the interviewer's lines never do.
  const marker = unique('candidate_marker');
  await typeInTerminal(candidate, `echo ${marker}\r`);
  await waitFor(async () => (await terminalText(interviewer)).split(marker).length >= 3, {
    timeout: 10_000,
    what: 'the candidate echo in the interviewer terminal',
  });
  for (const page of [interviewer, candidate]) {
    const text = await terminalText(page);
    assert.ok(!text.includes(typed), 'what the interviewer typed reached the shell');
    assert.ok(!text.includes(sent), 'what the interviewer sent reached the shell');
  }
  assertNoPageErrors(interviewer, candidate);
});

test('a change made from the terminal shows in both collaborative editors', async () => {
  const { interviewer, candidate } = await workspace();
  await openFile(candidate, 'app/main.py');
  await openFile(interviewer, 'app/main.py');
  await waitTerminal(candidate);
  const line = `# ${unique('from_terminal')}`;
  await typeInTerminal(candidate, `sed -i '1i ${line}' app/main.py\r`);
  for (const page of [candidate, interviewer]) {
    await waitEditor(page, 'app/main.py', (lines) => lines[0] === line, { timeout: 8000, what: 'the line from the terminal' });
  }
  assertNoPageErrors(interviewer, candidate);
});

test('the request console and the app logs', async () => {
  const { candidate, interviewer } = await workspace();
  const res = await sendRequest(candidate, 'GET', '/stocks/GOOGL');
  assert.equal(res.status, 200, res.body);
  assert.match(res.body, /GOOGL/);
  assert.match(res.body, /178\.35/);
  const logs = byTestId(candidate, 'app-logs');
  await waitFor(async () => /GET \/stocks\/GOOGL -> 200/.test(await logs.innerText()), {
    timeout: 8000,
    what: 'the request in the app logs',
  }).catch(async (e) => assert.fail(`${e.message}\n--- logs ---\n${await logs.innerText()}`));
  // The interviewer's App panel follows the same logs.
  await byTestId(interviewer, 'panel-tab-app').click();
  await waitFor(async () => /GET \/stocks\/GOOGL -> 200/.test(await byTestId(interviewer, 'app-logs').innerText()), {
    timeout: 8000,
    what: 'the request in the interviewer app logs',
  });
  await byTestId(interviewer, 'panel-tab-terminal').click();
  assertNoPageErrors(interviewer, candidate);
});

test('VS Code: the workbench opens the workspace and its edits reach the collaborative editor', async () => {
  const { interviewer, candidate } = await workspace();
  await openFile(interviewer, 'app/main.py');
  const { frame, lines: vsEditor } = await openInVsCode(candidate, 'app/main.py', { contains: /import/ });
  // code-server serves the candidate's code as pages: from the untrusted origin, never this one.
  const src = await byTestId(candidate, 'vscode-frame').getAttribute('src');
  assert.ok(src.startsWith(`${server.untrustedUrl}/sessions/`), src);
  // The explorer lists the workspace.
  const explorer = frame.locator('.explorer-folders-view');
  await explorer.waitFor({ timeout: 30_000 });
  await waitFor(async () => /main\.py|app/.test(await explorer.innerText()), { timeout: 30_000, what: 'the VS Code explorer' });
  const line = `# ${unique('from_vscode')}`;
  await vsEditor.click();
  await candidate.keyboard.press('Control+Home');
  await candidate.keyboard.type(line, { delay: 5 });
  await candidate.keyboard.press('Enter');
  await candidate.keyboard.press('Control+S');
  await waitEditor(interviewer, 'app/main.py', (lines) => lines[0] === line, { timeout: 15_000, what: 'the VS Code edit in the shared editor' });

  // And the other way: a change in the shared editor shows in VS Code.
  await byTestId(candidate, 'open-vscode').click(); // back to the shared editor
  const back = `# ${unique('to_vscode')}`;
  await openFile(candidate, 'app/main.py');
  await typeFirstLine(candidate, 'app/main.py', back);
  await byTestId(candidate, 'open-vscode').click();
  await waitFor(async () => (await vsEditor.innerText()).includes(back.replace(/ /g, '\u00a0')) || (await vsEditor.innerText()).includes(back), {
    timeout: 15_000,
    what: 'the shared editor change in VS Code',
  });
  await byTestId(candidate, 'open-vscode').click();
  assertNoPageErrors(interviewer, candidate);
});

test(
  'VS Code: its nested frames (extension host, webviews) may be framed by the workbench',
  async () => {
    const { candidate, id } = await workspace();
    // Top-level this time, in the candidate's browser, at the link the platform gives them.
    const links = await candidate.evaluate(async (id) => (await fetch(`/api/sessions/${id}/content`)).json(), id);
    const page = await candidate.context().newPage();
    const blocked = [];
    page.on('response', async (res) => {
      if (res.request().resourceType() !== 'document' || !res.url().includes('/vscode/')) return;
      const csp = (await res.allHeaders())['content-security-policy'] ?? '';
      if (/frame-ancestors\s+'none'/.test(csp)) blocked.push(new URL(res.url()).pathname.replace(/^.*\/vscode\//, '/vscode/'));
    });
    try {
      await page.goto(links.vscode);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      // The web worker extension host's frame loads with the workbench.
      await waitFor(async () => page.frames().length > 1, { timeout: 20_000, what: 'the extension host frame' });
      await page.waitForLoadState('networkidle').catch(() => {});
      assert.deepEqual(blocked, [], 'code-server documents refused to their own frames');
    } finally {
      await page.close();
    }
  },
);

test('pages the candidate makes cannot act as a signed-in admin: they open on the untrusted origin', async () => {
  const session = await createWorkspace(server.url);
  const call = (method, path, token, body) =>
    fetch(`${server.url}/api/sessions/${session.id}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  // The candidate writes a page that tries to use whoever opens it: make a key, read the account.
  const evil = `<!doctype html><title>waiting</title><script>
    (async () => {
      const api = ${JSON.stringify(server.url)};
      const out = {};
      const attempt = async (name, f) => { try { out[name] = await f(); } catch { out[name] = 'blocked'; } };
      await attempt('json', async () => (await fetch(api + '/api/keys', { method: 'POST', credentials: 'include', headers: { 'content-type': 'application/json' }, body: '{"name":"stolen"}' })).status);
      await attempt('simple', async () => (await fetch(api + '/api/keys', { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"name":"stolen-simple"}' })).type);
      await attempt('me', async () => (await fetch(api + '/api/auth/me', { credentials: 'include' })).text());
      document.title = 'done ' + JSON.stringify(out);
    })();
  </script>`;
  assert.equal((await call('POST', '/files', session.candidate_token, { path: 'evil.html', content: evil })).status, 201);
  const links = await (await call('GET', '/content', session.candidate_token)).json();
  assert.ok(links.base.startsWith(server.untrustedUrl), links.base);

  // A signed-in admin opens the links the candidate sends.
  const context = await browser.newContext({ viewport: VIEWPORT });
  const admin = await context.newPage();
  await signInBrowser(admin, server.url);
  const cookiesBefore = JSON.stringify(await context.cookies());
  const keys = async () => (await (await fetch(`${server.url}/api/keys?all=1`, { headers: { cookie: `iide_account=${server.adminCookie}` } })).json()).map((k) => k.name);
  const keysBefore = await keys();
  try {
    // The file, through VS Code's resource route, and through the platform's files API.
    await admin.goto(`${links.base}vscode/vscode-remote-resource?path=/workspace/evil.html`);
    await waitFor(async () => (await admin.title()).startsWith('done'), { timeout: 30_000, what: "the candidate's script to finish" });
    const out = JSON.parse((await admin.title()).slice(5));
    assert.equal(new URL(admin.url()).origin, server.untrustedUrl);
    assert.equal(out.json, 'blocked', 'a JSON request from the untrusted origin never reaches the API (no CORS)');
    assert.equal(out.me, 'blocked', 'nothing of the account is readable');
    const download = admin.waitForEvent('download', { timeout: 10_000 }).catch(() => null);
    await admin.goto(`${server.url}/api/sessions/${session.id}/files/content?path=evil.html&token=${session.candidate_token}`).catch(() => {});
    assert.ok(await download, 'the files API hands the page over as a download, never renders it');
    // The candidate's app answers the same page: its link on the platform's origin takes the
    // browser to the untrusted origin, where the page runs sandboxed, without an origin at all.
    const original = await (await call('GET', '/files/content?path=app/main.py', session.candidate_token)).text();
    const route = `\n\nfrom fastapi.responses import HTMLResponse as _HTMLResponse\n\n\n@app.get("/evil-page", response_class=_HTMLResponse)\ndef _evil_page():\n    return ${JSON.stringify(evil)}\n`;
    assert.equal((await call('DELETE', '/files?path=app/main.py', session.candidate_token)).status, 204);
    assert.equal((await call('POST', '/files', session.candidate_token, { path: 'app/main.py', content: original + route })).status, 201);
    await waitFor(async () => (await call('GET', '/app/evil-page', session.candidate_token)).status === 200, { timeout: 60_000, interval: 500, what: 'the app serving the page' });
    await admin.goto(`${server.url}/api/sessions/${session.id}/app/evil-page?token=${session.candidate_token}`);
    assert.equal(new URL(admin.url()).origin, server.untrustedUrl);
    assert.ok(!admin.url().includes(session.candidate_token), 'the session token does not travel on');
    await waitFor(async () => (await admin.title()).startsWith('done'), { timeout: 30_000, what: "the app page's script to finish" });
    const fromApp = JSON.parse((await admin.title()).slice(5));
    assert.equal(fromApp.json, 'blocked');
    assert.equal(fromApp.me, 'blocked');
    const after = await keys();
    assert.deepEqual(after.filter((k) => k.startsWith('stolen')), [], 'no key was made');
    assert.equal(after.length, keysBefore.length);
    assert.equal(JSON.stringify(await context.cookies()), cookiesBefore, 'no cookie changed');
  } finally {
    await context.close();
  }
});

test('accessibility of the workspace page, both roles', async () => {
  const { interviewer, candidate } = await workspace();
  for (const [page, who] of [[interviewer, 'interviewer'], [candidate, 'candidate']]) {
    await byTestId(page, 'file-tree').waitFor();
    const { violations } = await runAxe(page);
    const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.equal(blocking.length, 0, `accessibility violations for the ${who}:\n${formatViolations(blocking)}`);
  }
});

test('screenshot of the interviewer workspace', async () => {
  const { interviewer, candidate } = await workspace();
  await openFile(interviewer, 'app/main.py');
  await waitTerminal(interviewer);
  // The shell works the sum out: the command line shows the expression, the output its value.
  const n = 1000 + Math.floor(Math.random() * 1000);
  await typeInTerminal(candidate, `clear; pytest -q; echo finished-$((${n} + 1))\r`);
  await waitFor(async () => (await terminalText(interviewer)).includes(`finished-${n + 1}`), { timeout: 60_000, interval: 200, what: 'pytest output' });
  assert.match(await terminalText(interviewer), /\d+ passed/);
  await interviewer.mouse.move(0, 0);
  await interviewer.screenshot({ path: screenshotPath });
});

test('a workspace that fills its disk says so in the status bar, and recovers once files go', async (t) => {
  const web = process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : [];
  const small = await startServer([...web, '--workspace-disk-mb', '64']);
  try {
    const session = await createWorkspace(small.url, 'Disk quota');
    if (!(await fetch(`${small.url}/api/sessions/${session.id}/workspace`, { headers: { authorization: `Bearer ${session.interviewer_token}` } }).then((r) => r.json())).sandbox?.disk_limit_bytes) {
      t.skip('workspace disk quotas need root and loop devices');
      return;
    }
    const candidate = await openWorkspacePage(browser, session.candidate_url, 'Cleo');
    await waitTerminal(candidate);
    await typeInTerminal(candidate, 'head -c 200M /dev/zero > big; echo "wrote-$?"\r');
    await waitFor(async () => (await terminalText(candidate)).includes('No space left on device'), { timeout: 30_000, what: 'the shell hitting the quota' });
    const notice = candidate.locator('.status-notice');
    await notice.filter({ hasText: 'Disk limit reached' }).waitFor({ timeout: 10_000 });
    assert.match(await notice.textContent(), /uses all of its 64 MB/);
    await typeInTerminal(candidate, 'rm big\r');
    await notice.waitFor({ state: 'detached', timeout: 10_000 });
    assertNoPageErrors(candidate);
    await candidate.close();
  } finally {
    await small.stop();
  }
});
