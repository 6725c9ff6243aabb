// Server-side languages: pick Java in the pad, run it, and the other person sees the output; the
// stdin box feeds the program; a compile error shows its line; Stop ends a running program.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { launchBrowser, newPage, joinSession, byTestId, runAxe, formatViolations, CLIPBOARD, setCode, runStatus, runOutput, runCount } from './browser.mjs';

let server;
let browser;

before(async () => {
  server = await startServer(process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : []);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});


async function startRun(page) {
  const before = await runCount(page);
  await byTestId(page, 'run-button').click();
  await waitFor(async () => (await runCount(page)) > before, { timeout: 10_000, what: 'the run to start' });
}

/** Waits for the shown run to end (compiling on a loaded machine takes a while). */
async function waitDone(page, timeout = 90_000) {
  await waitFor(async () => {
    const s = await runStatus(page);
    return s && s !== 'running';
  }, { timeout, interval: 100, what: 'the run to finish' });
  let output = await runOutput(page);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 80));
    const again = await runOutput(page);
    if (again === output) break;
    output = again;
  }
  return { status: await runStatus(page), output };
}

test('Java picked in the pad runs on the server and the other person sees the output', async () => {
  const session = await createSession(server.url, { title: 'Java', language: 'python' });
  const interviewer = await newPage(browser, CLIPBOARD);
  const candidate = await newPage(browser, CLIPBOARD);
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await joinSession(candidate, session.candidate_url, 'Grace');

  // The candidate picks Java; the Run button is enabled for it.
  await byTestId(candidate, 'language-picker').selectOption('java');
  await waitFor(async () => !(await byTestId(candidate, 'run-button').isDisabled()), { what: 'Run enabled for Java' });

  await setCode(
    candidate,
    'import java.util.Scanner;\n\nclass Main {\n    public static void main(String[] args) {\n        String name = new Scanner(System.in).nextLine();\n        System.out.println("Hello from Java, " + name + "!");\n    }\n}\n',
  );
  await byTestId(candidate, 'stdin-box').fill('Grace');
  await startRun(candidate);
  const mine = await waitDone(candidate);
  assert.equal(mine.status, 'ok', mine.output);
  assert.match(mine.output, /Hello from Java, Grace!/);
  assert.match(mine.output, /Exit code 0 · ran in/);

  // The interviewer sees the same run and its output through the shared runs document.
  await waitFor(async () => /Hello from Java, Grace!/.test(await runOutput(interviewer)), { timeout: 10_000, what: "the candidate's output on the interviewer's page" });
  assert.match(await interviewer.locator('.run-meta').innerText(), /Grace.*ran Java/);

  // A compile error names its line, for both.
  await setCode(candidate, 'class Main {\n    public static void main(String[] args) {\n        int x = ;\n    }\n}\n');
  await startRun(candidate);
  const broken = await waitDone(candidate);
  assert.equal(broken.status, 'error');
  assert.match(broken.output, /Main\.java:3: error/);
  await waitFor(async () => /Main\.java:3: error/.test(await runOutput(interviewer)), { timeout: 10_000, what: 'the compile error for the interviewer' });

  // Stop ends a program that would run until the time limit.
  await setCode(candidate, 'class Main {\n    public static void main(String[] args) throws Exception {\n        System.out.println("started");\n        Thread.sleep(60000);\n    }\n}\n');
  await startRun(candidate);
  await waitFor(async () => /started/.test(await runOutput(candidate)), { timeout: 60_000, interval: 100, what: 'the program to start' });
  await byTestId(candidate, 'stop-button').click();
  const stopped = await waitDone(candidate, 10_000);
  assert.equal(stopped.status, 'stopped');

  // The interviewer's timeline has the runs.
  const events = await (await fetch(`${server.url}/api/sessions/${session.id}/events`, { headers: { authorization: `Bearer ${session.interviewer_token}` } })).json();
  await waitFor(async () => {
    const ev = await (await fetch(`${server.url}/api/sessions/${session.id}/events`, { headers: { authorization: `Bearer ${session.interviewer_token}` } })).json();
    return ev.filter((e) => e.kind === 'code_run' && e.data.language === 'java').length >= 3;
  }, { timeout: 10_000, what: 'three Java runs on the timeline' });
  assert.ok(Array.isArray(events));

  const violations = (await runAxe(candidate)).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(violations, [], formatViolations(violations));
  if (process.env.SCREENSHOT_DIR) await candidate.screenshot({ path: `${process.env.SCREENSHOT_DIR}/java-run.png` });

  await interviewer.context().close();
  await candidate.context().close();
});

test('with execution off the candidate cannot run C; the interviewer can', async () => {
  const session = await createSession(server.url, { title: 'C', language: 'c' });
  const res = await fetch(`${server.url}/api/sessions/${session.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.interviewer_token}` },
    body: JSON.stringify({ policy: { execution_enabled: false } }),
  });
  assert.equal(res.status, 200);
  const candidate = await newPage(browser, CLIPBOARD);
  const interviewer = await newPage(browser, CLIPBOARD);
  await joinSession(candidate, session.candidate_url, 'Grace');
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await waitFor(async () => byTestId(candidate, 'execution-off-note').isVisible(), { what: 'the execution-off note' });
  assert.equal(await byTestId(candidate, 'run-button').isDisabled(), true);

  await startRun(interviewer);
  const r = await waitDone(interviewer);
  assert.equal(r.status, 'ok', r.output);
  assert.match(r.output, /Hello, world!/);
  await waitFor(async () => /Hello, world!/.test(await runOutput(candidate)), { timeout: 10_000, what: "the interviewer's run on the candidate's page" });
  await interviewer.context().close();
  await candidate.context().close();
});

test('input typed while a server-side program runs reaches it, and the other person sees it', async () => {
  const session = await createSession(server.url, { title: 'Bash input', language: 'bash' });
  const candidate = await newPage(browser, CLIPBOARD);
  const interviewer = await newPage(browser, CLIPBOARD);
  await joinSession(candidate, session.candidate_url, 'Grace');
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await setCode(candidate, 'read -r -p "n? " n\necho "twice: $((n * 2))"\nwhile read -r line; do echo "got $line"; done\necho done\n');
  await startRun(candidate);
  // While it runs, the stdin box is an input line: Enter sends a line, Ctrl+D ends the input.
  const line = byTestId(candidate, 'stdin-input');
  await line.waitFor({ timeout: 30_000 });
  await line.fill('21');
  await line.press('Enter');
  await waitFor(async () => /twice: 42/.test(await runOutput(candidate)), { timeout: 30_000, what: 'the answer to the first line' });
  await line.fill('last');
  await line.press('Control+d');
  const r = await waitDone(candidate);
  assert.equal(r.status, 'ok', r.output);
  assert.match(r.output, /21\n[\s\S]*twice: 42[\s\S]*got last[\s\S]*done/);
  await waitFor(async () => /got last/.test(await runOutput(interviewer)), { timeout: 10_000, what: 'the run on the interviewer page' });
  // After the run, the stdin box is back for the next run's input.
  await byTestId(candidate, 'stdin-box').waitFor({ timeout: 10_000 });
  await interviewer.context().close();
  await candidate.context().close();
});

// A first ./scripts/start.sh serves pads while the server-side languages still install in the
// background (<tools dir>/installing names them, with the installer's pid: here this test's own).
// The picker says which are still installing, a run says why it did not start, and once the
// install is done the same Run works without reloading.
test('languages still being installed say so, and run once they are in', async () => {
  const tools = mkdtempSync(join(tmpdir(), 'iide-tools-'));
  // Readable by the unprivileged user the server becomes, as start.sh leaves /opt/interview-ide.
  chmodSync(tools, 0o755);
  const status = join(tools, 'installing');
  writeFileSync(status, `pid ${process.pid}\nlanguages\n`, { mode: 0o644 });
  const installing = await startServer(['--tools-dir', tools]);
  try {
    const session = await createSession(installing.url, { title: 'First start', language: 'c' });
    const candidate = await newPage(browser, CLIPBOARD);
    await joinSession(candidate, session.candidate_url, 'Grace');
    const picker = byTestId(candidate, 'language-picker');
    await waitFor(async () => (await picker.locator('option[value="c"]').innerText()).trim() === 'C (installing…)', { what: 'C marked as installing' });
    assert.equal((await picker.locator('option[value="python"]').innerText()).trim(), 'Python');

    await setCode(candidate, '#include <stdio.h>\nint main(void) { puts("Hello, world!"); return 0; }\n');
    await startRun(candidate);
    const refused = await waitDone(candidate);
    assert.equal(refused.status, 'error');
    assert.match(refused.output, /server-side languages are still being installed on this server/);

    // The install is done: the same page runs it.
    rmSync(status);
    await startRun(candidate);
    const ran = await waitDone(candidate);
    assert.equal(ran.status, 'ok', ran.output);
    assert.match(ran.output, /Hello, world!/);
    await candidate.context().close();
  } finally {
    await installing.stop();
    rmSync(tools, { recursive: true, force: true });
  }
});
