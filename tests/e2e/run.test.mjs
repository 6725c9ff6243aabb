// Running code in the browser: Python (Pyodide served by the server), JavaScript and TypeScript in
// sandboxed workers, output shared live through the `runs` document, the interviewer's policy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { launchBrowser, newPage, joinSession, byTestId, CLIPBOARD, setCode, runStatus, runOutput, runCount } from './browser.mjs';

let server;
let browser;

before(async () => {
  // TEST_WEB_DIR serves a newer web build than the one embedded in the binary.
  server = await startServer(process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : []);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});


/** Starts a run (button or Ctrl+Enter) and waits for the new run to show up. */
async function startRun(page, { keyboard = false } = {}) {
  const before = await runCount(page);
  if (keyboard) {
    await page.locator('[data-testid="editor"] .view-lines').click();
    await page.keyboard.press('Control+Enter');
  } else {
    await byTestId(page, 'run-button').click();
  }
  await waitFor(async () => (await runCount(page)) > before, { timeout: 5000, what: 'the run to start' });
}

async function waitDone(page, timeout = 30_000) {
  await waitFor(
    async () => {
      const s = await runStatus(page);
      return s && s !== 'running';
    },
    { timeout, what: 'the run to finish' },
  );
  // The last output batch can land a frame or two after the status: read until it settles.
  let output = await runOutput(page);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 60));
    const again = await runOutput(page);
    if (again === output) break;
    output = again;
  }
  return { status: await runStatus(page), output };
}

async function run(page, code, opts) {
  await setCode(page, code);
  const t0 = Date.now();
  await startRun(page, opts);
  const result = await waitDone(page);
  return { ...result, ms: Date.now() - t0 };
}

/** Sets the time limit through the interviewer's control and waits for the server to have it. */
async function setTimeLimit(page, sessionId, token, seconds) {
  const input = byTestId(page, 'time-limit');
  await input.fill(String(seconds));
  await input.press('Enter');
  await waitFor(
    async () => {
      const res = await fetch(`${server.url}/api/sessions/${sessionId}`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.json();
      return body.policy?.time_limit_seconds === seconds;
    },
    { timeout: 5000, what: 'the new time limit' },
  );
}

function noPageErrors(page) {
  // A refused timeline write (409) shows as a failed resource in the console; anything else is a bug.
  const errors = page.errors.filter((e) => !/status of 409/.test(e));
  assert.deepEqual(errors, [], 'page errors');
}

describe('Python', () => {
  let page;
  let session;

  before(async () => {
    session = await createSession(server.url, { title: 'Python runs', language: 'python' });
    page = await newPage(browser, CLIPBOARD);
    await joinSession(page, session.interviewer_url, 'Ada');
  });
  after(() => page?.context().close());

  test('print(sum(range(10))) prints 45 (cold start of the runtime)', async (t) => {
    await setCode(page, 'print(sum(range(10)))');
    const t0 = Date.now();
    await startRun(page);
    // The runtime loads on the first run, with a visible loading state.
    await waitFor(async () => /Loading Python runtime/.test(await byTestId(page, 'run-status').innerText()), {
      timeout: 5000,
      what: 'the loading state',
    });
    const { status, output } = await waitDone(page);
    const ready = await page.evaluate(() => performance.getEntriesByName('iide:python-ready').map((e) => e.duration));
    t.diagnostic(`Python cold: ${Date.now() - t0} ms from Run to result; runtime ready in ${Math.round(ready[0])} ms`);
    assert.equal(status, 'ok');
    assert.equal(output.trim(), '45');
    assert.match(await byTestId(page, 'run-status').innerText(), /Finished/);
  });

  test('a warm run is fast and Ctrl+Enter runs too', async (t) => {
    const times = [];
    for (let i = 0; i < 3; i++) {
      const r = await run(page, `print("warm ${i}")`, { keyboard: i === 2 });
      assert.equal(r.status, 'ok');
      assert.equal(r.output.trim(), `warm ${i}`);
      times.push(r.ms);
    }
    t.diagnostic(`Python warm round trips (click to result on screen, incl. test polling): ${times.join(', ')} ms`);
  });

  test('stdout and stderr stay in order and apart; an exception shows its traceback', async () => {
    const r = await run(page, 'import sys\nprint("out 1")\nprint("err 1", file=sys.stderr)\nprint("out 2")\n\ndef f(x):\n    return 1 / x\n\nf(0)');
    assert.equal(r.status, 'error');
    assert.match(r.output, /^out 1\nerr 1\nout 2\nTraceback \(most recent call last\):/);
    assert.match(r.output, /File "main\.py", line 9, in <module>/);
    assert.match(r.output, /File "main\.py", line 7, in f/);
    assert.match(r.output, /ZeroDivisionError: division by zero/);
    assert.doesNotMatch(r.output, /_pyodide|python314\.zip/, 'the runner frames are hidden');
    const stderr = await page.locator('[data-testid="run-output"] .out-stderr').allInnerTexts();
    assert.ok(stderr.join('').includes('err 1') && stderr.join('').includes('ZeroDivisionError'));
    const stdout = await page.locator('[data-testid="run-output"] .out-stdout').allInnerTexts();
    assert.ok(!stdout.join('').includes('err 1'));
  });

  test('input() reads a typed line', async () => {
    await setCode(page, 'name = input("Name? ")\nprint(f"Hello, {name}!")');
    await startRun(page);
    const stdin = page.locator('[data-testid="stdin-input"][data-waiting="true"]');
    await stdin.waitFor({ timeout: 10_000 });
    // The input line takes the focus when the program asks.
    await page.waitForFunction((id) => document.activeElement?.getAttribute('data-testid') === id, 'stdin-input', { timeout: 5_000 });
    await page.keyboard.type('Grace');
    await page.keyboard.press('Enter');
    const { status, output } = await waitDone(page);
    assert.equal(status, 'ok');
    assert.equal(output, 'Name? Grace\nHello, Grace!\n');
  });

  test('sys.stdin.read() reads every typed line until End input', async () => {
    await setCode(page, 'import sys\nnums = sys.stdin.read().split()\nprint(len(nums), sum(map(int, nums)))');
    await startRun(page);
    for (const line of ['4 5', '6']) {
      await page.locator('[data-testid="stdin-input"][data-waiting="true"]').waitFor({ timeout: 10_000 });
      await byTestId(page, 'stdin-input').fill(line);
      await byTestId(page, 'stdin-input').press('Enter');
    }
    await page.locator('[data-testid="stdin-input"][data-waiting="true"]').waitFor({ timeout: 10_000 });
    await byTestId(page, 'stdin-eof').click();
    const { status, output } = await waitDone(page);
    assert.equal(status, 'ok');
    assert.match(output, /^4 5\n6\n[\s\S]*3 15\n$/);
  });

  test('a package that is not available offline says so', async () => {
    const r = await run(page, 'import numpy as np\nprint(np.zeros(3))');
    assert.equal(r.status, 'error');
    assert.match(r.output, /ModuleNotFoundError: No module named 'numpy'/);
    assert.match(r.output, /'numpy' is not available here.*standard library only/s);
  });

  test('while True: pass is stopped at the time limit and the next run works at once', async (t) => {
    await setTimeLimit(page, session.id, session.interviewer_token, 2);
    const r = await run(page, 'print("spinning")\nwhile True:\n    pass');
    assert.equal(r.status, 'timeout');
    assert.match(r.output, /^spinning\n/);
    assert.match(r.output, /Time limit reached: the program ran for 2 s and was stopped\./);
    assert.doesNotMatch(r.output, /restarted/, 'KeyboardInterrupt stopped it; the interpreter survived');
    assert.ok(r.ms >= 1900 && r.ms < 5000, `stopped after ${r.ms} ms`);
    assert.match(await byTestId(page, 'run-status').innerText(), /Time limit/);

    const next = await run(page, 'print("alive")');
    t.diagnostic(`limit run took ${r.ms} ms; the next run ${next.ms} ms`);
    assert.equal(next.status, 'ok');
    assert.equal(next.output.trim(), 'alive');
    assert.ok(next.ms < 2000, `next run took ${next.ms} ms`);
  });

  test('time.sleep and a program that swallows KeyboardInterrupt are stopped too', async () => {
    const sleeping = await run(page, 'import time\ntime.sleep(60)');
    assert.equal(sleeping.status, 'timeout');
    assert.ok(sleeping.ms < 5000);
    assert.doesNotMatch(sleeping.output, /restarted/);

    // The hard fallback: the worker is terminated and a fresh runtime loads.
    const stubborn = await run(page, 'while True:\n    try:\n        while True: pass\n    except KeyboardInterrupt:\n        pass');
    assert.equal(stubborn.status, 'timeout');
    assert.match(stubborn.output, /did not stop on its own and was restarted/);
    const after = await run(page, 'print("fresh")');
    assert.equal(after.status, 'ok');
    assert.equal(after.output.trim(), 'fresh');
  });

  test('Stop ends a running program', async () => {
    await setCode(page, 'while True:\n    pass');
    await startRun(page);
    await waitFor(async () => /Running/.test(await byTestId(page, 'run-status').innerText()), { what: 'running' });
    await byTestId(page, 'stop-button').click();
    const { status } = await waitDone(page, 5000);
    assert.equal(status, 'stopped');
    // The closing message is written with the run's last output batch, just after the status.
    await waitFor(async () => /Stopped\./.test(await runOutput(page)), { timeout: 3000, what: 'the Stopped. message' });
  });

  test('output is capped at 1 MB with a visible mark', async () => {
    await setTimeLimit(page, session.id, session.interviewer_token, 10);
    const r = await run(page, 'for i in range(60000):\n    print(i, "x" * 30)');
    assert.equal(r.status, 'ok');
    assert.match(r.output, /output truncated: a run keeps at most 1 MB of output/);
    assert.ok(r.output.length <= 1024 * 1024 + 200, `${r.output.length} characters shown`);
    assert.ok(r.output.startsWith('0 xxx'));
    noPageErrors(page);
  });
});

describe('JavaScript and TypeScript', () => {
  let page;
  let session;
  const sandboxHeaders = [];

  before(async () => {
    session = await createSession(server.url, { title: 'JS runs', language: 'javascript' });
    page = await newPage(browser, CLIPBOARD);
    page.on('response', (res) => {
      if (/\/assets\/sandbox-js[^/]*\.js$/.test(res.url())) sandboxHeaders.push(res.headers());
    });
    await joinSession(page, session.interviewer_url, 'Ada');
  });
  after(() => page?.context().close());

  test('console.log of an object is pretty-printed', async (t) => {
    const r = await run(
      page,
      [
        'const user = { name: "Ada", tags: ["x", "y"], nested: { deep: { deeper: { deepest: 1 } } } }',
        'console.log(user)',
        'console.log(new Map([["a", 1]]), new Set([1, 2]), [1, "two", null, undefined])',
        'class Point { constructor() { this.x = 1; this.y = 2 } }',
        'console.log("%s has %d items", "list", 3, new Point())',
        'console.warn("careful")',
        'const o = { name: "loop" }; o.self = o; console.log(o)',
      ].join('\n'),
    );
    t.diagnostic(`JS run round trip: ${r.ms} ms`);
    assert.equal(r.status, 'ok');
    assert.equal(
      r.output,
      [
        "{ name: 'Ada', tags: [ 'x', 'y' ], nested: { deep: { deeper: [Object] } } }",
        "Map(1) { 'a' => 1 } Set(2) { 1, 2 } [ 1, 'two', null, undefined ]",
        'list has 3 items Point { x: 1, y: 2 }',
        'careful',
        "<ref *1> { name: 'loop', self: [Circular *1] }",
        '',
      ].join('\n'),
    );
    const stderr = await page.locator('[data-testid="run-output"] .out-stderr').allInnerTexts();
    assert.equal(stderr.join('').trim(), 'careful');
  });

  test('an uncaught error shows its stack with the lines of the code', async () => {
    const r = await run(page, 'function boom() {\n  throw new Error("kaboom")\n}\nconsole.log("before")\nboom()');
    assert.equal(r.status, 'error');
    assert.match(r.output, /^before\nUncaught Error: kaboom\n\s+at boom \(main\.js:2:9\)\n\s+at main\.js:5:1/);
    assert.doesNotMatch(r.output, /sandbox-js/, 'the runner frames are hidden');
  });

  test('TypeScript with type annotations runs', async () => {
    await page.locator('[data-testid="language-picker"]').selectOption('typescript');
    await page.locator('.editor-tab', { hasText: 'main.ts' }).waitFor();
    const r = await run(
      page,
      'interface Item { name: string; price: number }\nconst items: Item[] = [{ name: "a", price: 2 }, { name: "b", price: 3 }]\nconst total: number = items.reduce((s: number, i: Item) => s + i.price, 0)\nconsole.log(`total: ${total}`)',
    );
    assert.equal(r.status, 'ok');
    assert.equal(r.output, 'total: 5\n');
    const bad = await run(page, 'const x: number = \nlet y: = 1');
    assert.equal(bad.status, 'error');
    assert.match(bad.output, /main\.ts:2:\d+/);
    assert.match(bad.output, /SyntaxError/);
    await page.locator('[data-testid="language-picker"]').selectOption('javascript');
    await page.locator('.editor-tab', { hasText: 'main.js' }).waitFor();
  });

  test('prompt() reads from the run panel', async () => {
    await setCode(page, 'const n = Number(prompt("How many?"))\nconsole.log(n * 2)');
    await startRun(page);
    await page.locator('[data-testid="stdin-input"][data-waiting="true"]').waitFor({ timeout: 5000 });
    await byTestId(page, 'stdin-input').fill('21');
    await byTestId(page, 'stdin-input').press('Enter');
    const { status, output } = await waitDone(page);
    assert.equal(status, 'ok');
    assert.equal(output, 'How many? 21\n42\n');
  });

  test("require('fs').readFileSync(0) reads the input until Ctrl+D; other modules say why they are missing", async () => {
    await setCode(page, "const data = require('fs').readFileSync(0, 'utf8')\nconst nums = data.split(/\\s+/).filter(Boolean).map(Number)\nconsole.log(nums.length, nums.reduce((a, b) => a + b, 0))");
    await startRun(page);
    await page.locator('[data-testid="stdin-input"][data-waiting="true"]').waitFor({ timeout: 5000 });
    await byTestId(page, 'stdin-input').fill('1 2');
    await byTestId(page, 'stdin-input').press('Enter');
    await page.locator('[data-testid="stdin-input"][data-waiting="true"]').waitFor({ timeout: 5000 });
    // Ctrl+D with text on the line: the text is the last line, then the input ends.
    await byTestId(page, 'stdin-input').fill('3');
    await byTestId(page, 'stdin-input').press('Control+d');
    const { status, output } = await waitDone(page);
    assert.equal(status, 'ok');
    assert.match(output, /^1 2\n3\n[\s\S]*3 6\n$/);
    const missing = await run(page, 'require("os")');
    assert.equal(missing.status, 'error');
    assert.match(missing.output, /Cannot find module 'os'.*readFileSync\(0\) reads the input/);
  });

  test('the sandbox has no network, no page and no storage', async () => {
    const r = await run(
      page,
      [
        `try { await fetch("${server.url}/healthz"); console.log("FETCHED") } catch (e) { console.log("fetch:", e.name) }`,
        'try { new XMLHttpRequest() } catch (e) { console.log("xhr:", e.name) }',
        'try { new WebSocket("ws://127.0.0.1:1/") } catch (e) { console.log("ws:", e.name) }',
        'console.log(typeof document, typeof window, typeof localStorage, typeof indexedDB, typeof importScripts)',
        `await import("${server.url}/api/languages", { with: { type: "json" } }).then(() => console.log("IMPORTED"), () => console.log("import failed"))`,
      ].join('\n'),
    );
    assert.doesNotMatch(r.output, /FETCHED|IMPORTED/);
    assert.match(r.output, /fetch: (ReferenceError|TypeError)/);
    assert.match(r.output, /xhr: ReferenceError/);
    assert.match(r.output, /ws: ReferenceError/);
    assert.match(r.output, /undefined undefined undefined undefined undefined/);
    assert.match(r.output, /import failed/);
  });

  test('the worker script carries the sandbox CSP, which blocks the network by itself', async () => {
    assert.ok(sandboxHeaders.length > 0, 'the sandbox worker was loaded');
    const csp = sandboxHeaders[0]['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src \S+\/pyodide\//);
    // A worker that has not run anything yet still has fetch & co: the CSP alone must stop them.
    const worker = page.workers().find((w) => /\/assets\/sandbox-js/.test(w.url()));
    assert.ok(worker, 'a warm sandbox worker exists');
    const result = await worker.evaluate(async (origin) => {
      const out = {};
      try {
        await fetch(`${origin}/healthz`);
        out.fetch = 'allowed';
      } catch {
        out.fetch = 'blocked';
      }
      try {
        await fetch('http://example.com/');
        out.external = 'allowed';
      } catch {
        out.external = 'blocked';
      }
      out.ws = await new Promise((resolve) => {
        try {
          const ws = new WebSocket(`${origin.replace('http', 'ws')}/api/sessions/x/docs/main`);
          ws.onopen = () => resolve('allowed');
          ws.onerror = () => resolve('blocked');
        } catch {
          resolve('blocked');
        }
      });
      return out;
    }, server.url);
    assert.deepEqual(result, { fetch: 'blocked', external: 'blocked', ws: 'blocked' });
  });

  test('for(;;){} is stopped at the time limit and the next run works at once', async (t) => {
    await setTimeLimit(page, session.id, session.interviewer_token, 2);
    const r = await run(page, 'console.log("spinning")\nfor (;;) {}');
    assert.equal(r.status, 'timeout');
    assert.match(r.output, /^spinning\n/);
    assert.match(r.output, /Time limit reached: the program ran for 2 s and was stopped\./);
    assert.ok(r.ms >= 1900 && r.ms < 5000, `stopped after ${r.ms} ms`);
    const next = await run(page, 'console.log(6 * 7)');
    t.diagnostic(`limit run took ${r.ms} ms; the next run ${next.ms} ms`);
    assert.equal(next.status, 'ok');
    assert.equal(next.output, '42\n');
    assert.ok(next.ms < 2000);
    noPageErrors(page);
  });
});

describe('Shared runs and the interviewer policy', () => {
  let iv;
  let cd;
  let session;

  before(async () => {
    session = await createSession(server.url, { title: 'Shared runs', language: 'javascript' });
    iv = await newPage(browser, CLIPBOARD);
    cd = await newPage(browser, CLIPBOARD);
    await joinSession(iv, session.interviewer_url, 'Ada');
    await joinSession(cd, session.candidate_url, 'Bob');
  });
  after(async () => {
    await iv?.context().close();
    await cd?.context().close();
  });

  /** Resolves with Date.now() when the page's run output contains `needle`. */
  const seen = (page, needle) =>
    page.evaluate(
      (needle) =>
        new Promise((resolve) => {
          const check = () => document.querySelector('[data-testid="run-output"]')?.textContent.includes(needle);
          if (check()) return resolve(Date.now());
          const mo = new MutationObserver(() => {
            if (check()) {
              mo.disconnect();
              resolve(Date.now());
            }
          });
          mo.observe(document.body, { subtree: true, childList: true, characterData: true });
        }),
      needle,
    );

  test("the candidate's run appears live in the interviewer's panel", async (t) => {
    const lags = [];
    for (let i = 0; i < 3; i++) {
      await setCode(cd, `console.log("tick ${i}")\nawait new Promise((r) => setTimeout(r, 400))\nconsole.log("tock ${i}")`);
      const onCandidate = seen(cd, `tick ${i}`);
      const onInterviewer = seen(iv, `tick ${i}`);
      await startRun(cd);
      const [a, b] = await Promise.all([onCandidate, onInterviewer]);
      lags.push(b - a);
      // Live: the first line is there while the program still runs.
      assert.equal(await runStatus(iv), 'running');
      await waitDone(cd);
      await waitFor(async () => (await runStatus(iv)) === 'ok', { what: 'the interviewer to see the end' });
    }
    t.diagnostic(`candidate print -> interviewer panel: ${lags.join(', ')} ms`);
    assert.ok(Math.max(...lags) < 500, `lags ${lags.join(', ')} ms`);
    assert.equal(await runOutput(iv), await runOutput(cd));
    assert.equal(await runOutput(iv), 'tick 2\ntock 2\n');
    const history = await byTestId(iv, 'run-history').innerText();
    assert.match(history, /Bob/);
    assert.equal(await iv.locator('[data-testid="run-history"] [data-run-id]').count(), 3);
  });

  test('only the interviewer has the policy controls', async () => {
    assert.equal(await byTestId(iv, 'execution-toggle').count(), 1);
    assert.equal(await byTestId(iv, 'time-limit').count(), 1);
    assert.equal(await byTestId(cd, 'execution-toggle').count(), 0);
    assert.equal(await byTestId(cd, 'time-limit').count(), 0);
  });

  test('with execution off the candidate cannot run; back on, they can', async () => {
    const toggle = byTestId(iv, 'execution-toggle');
    assert.equal(await toggle.isChecked(), true);
    await toggle.click();
    await waitFor(async () => byTestId(cd, 'run-button').isDisabled(), { timeout: 5000, what: 'the candidate Run to be disabled' });
    assert.match(await cd.locator('.run-panel').innerText(), /Code execution is turned off by the interviewer/);
    const before = await runCount(cd);
    await cd.locator('[data-testid="editor"] .view-lines').click();
    await cd.keyboard.press('Control+Enter');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await runCount(cd), before, 'Ctrl+Enter does not run either');
    // The server refuses to record a candidate run too.
    const res = await fetch(`${server.url}/api/sessions/${session.id}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.candidate_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ run_id: 'x', language: 'javascript', status: 'ok', duration_ms: 1 }),
    });
    assert.equal(res.status, 409);
    // The interviewer still can.
    assert.equal(await byTestId(iv, 'run-button').isEnabled(), true);

    await toggle.click();
    await waitFor(async () => byTestId(cd, 'run-button').isEnabled(), { timeout: 5000, what: 'the candidate Run to be enabled' });
    const r = await run(cd, 'console.log("back on")');
    assert.equal(r.status, 'ok');
    assert.equal(r.output, 'back on\n');
  });

  test("turning execution off stops the candidate's running program", async () => {
    await setCode(cd, 'for (;;) {}');
    await startRun(cd);
    await waitFor(async () => (await runStatus(iv)) === 'running', { what: 'the interviewer to see it run' });
    await byTestId(iv, 'execution-toggle').click();
    await waitFor(async () => (await runStatus(iv)) === 'stopped', { timeout: 5000, what: 'the run to stop' });
    // The run's output is written in batches, apart from its status: it may arrive just after.
    await waitFor(async () => /Code execution was turned off by the interviewer/.test(await runOutput(iv)), { timeout: 5000, what: 'the reason in the output' });
    await byTestId(iv, 'execution-toggle').click();
    await waitFor(async () => byTestId(cd, 'run-button').isEnabled(), { timeout: 5000, what: 'execution back on' });
    noPageErrors(iv);
    noPageErrors(cd);
  });
});
