// Benchmark of in-browser code runs (a command that prints figures, not a test):
//   Python ready time, cold (fresh browser context: downloads and starts the runtime) and the warm
//   run round trip of a trivial program; the JavaScript run round trip; and the time from a
//   candidate's print to it showing in the interviewer's run panel.
// Usage: cd tests && node bench/run-code.mjs [iterations]   (default 10; cold runs: iterations / 2)
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { launchBrowser, joinSession, byTestId, editorText } from '../e2e/browser.mjs';

const N = Number(process.argv[2] || 10);
const server = await startServer(process.env.TEST_WEB_DIR ? ['--web-dir', process.env.TEST_WEB_DIR] : []);
const browser = await launchBrowser();
const CLIPBOARD = { permissions: ['clipboard-read', 'clipboard-write'] };

async function setCode(page, code) {
  await page.evaluate((text) => navigator.clipboard.writeText(text), code);
  await page.locator('[data-testid="editor"] .view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+V');
  await waitFor(async () => (await editorText(page)).trim() === code.trim(), { timeout: 5000, what: 'pasted code' });
}

/** Clicks Run and measures, inside the page, until `marker` is in the run output. */
function timedRun(page, marker, timeoutMs = 60_000) {
  return page.evaluate(
    ({ marker, timeoutMs }) =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        /** @type {HTMLElement} */ (document.querySelector('[data-testid="run-button"]')).click();
        const check = () => {
          const out = document.querySelector('[data-testid="run-output"]')?.textContent ?? '';
          if (out.includes(marker)) resolve(performance.now() - t0);
          else if (performance.now() - t0 > timeoutMs) reject(new Error(`no ${marker} in output`));
          else requestAnimationFrame(check);
        };
        check();
      }),
    { marker, timeoutMs },
  );
}

async function waitIdle(page) {
  await waitFor(async () => {
    const s = await byTestId(page, 'run-status').getAttribute('data-status');
    return s && s !== 'running';
  }, { timeout: 30_000, what: 'run to finish' });
}

function summary(name, values) {
  const v = [...values].sort((a, b) => a - b);
  const q = (p) => v[Math.min(v.length - 1, Math.floor(p * (v.length - 1) + 0.5))];
  const f = (x) => `${x.toFixed(0)} ms`;
  console.log(`${name.padEnd(44)} n=${String(v.length).padStart(2)}  median ${f(q(0.5)).padStart(8)}  p90 ${f(q(0.9)).padStart(8)}  min ${f(v[0]).padStart(8)}  max ${f(v[v.length - 1]).padStart(8)}`);
}

async function pair(language) {
  const s = await createSession(server.url, { title: 'bench', language });
  const ictx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...CLIPBOARD });
  const cctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...CLIPBOARD });
  const interviewer = await ictx.newPage();
  const candidate = await cctx.newPage();
  await joinSession(interviewer, s.interviewer_url, 'Ivy');
  await joinSession(candidate, s.candidate_url, 'Cal');
  return { s, ictx, cctx, interviewer, candidate };
}

try {
  // Python cold: a fresh context per iteration, so nothing is cached or warm.
  const cold = [];
  for (let i = 0; i < Math.max(2, Math.floor(N / 2)); i++) {
    const p = await pair('python');
    await setCode(p.candidate, `print(${1000 + i})`);
    cold.push(await timedRun(p.candidate, String(1000 + i)));
    await p.ictx.close();
    await p.cctx.close();
  }

  const p = await pair('python');
  await setCode(p.candidate, 'print(0)');
  await timedRun(p.candidate, '0');
  await waitIdle(p.candidate);
  const warm = [];
  const shared = [];
  for (let i = 0; i < N; i++) {
    const marker = `W${i}x${Date.now() % 100000}`;
    await setCode(p.candidate, `print("${marker}")`);
    // The interviewer's page watches for the marker while the candidate runs.
    const seen = p.interviewer.evaluate(
      (marker) =>
        new Promise((resolve) => {
          const check = () => {
            const out = document.querySelector('[data-testid="run-output"]')?.textContent ?? '';
            if (out.includes(marker)) resolve(Date.now());
            else requestAnimationFrame(check);
          };
          check();
        }),
      marker,
    );
    const candidateT0 = await p.candidate.evaluate(() => Date.now());
    const ms = await timedRun(p.candidate, marker);
    const shownAtCandidate = candidateT0 + ms;
    warm.push(ms);
    shared.push(Math.max(0, (await seen) - shownAtCandidate));
    await waitIdle(p.candidate);
  }

  await p.candidate.evaluate(() => fetch('/api/languages')); // keep the page busy-free
  const js = [];
  await setCode(p.candidate, 'console.log(1)');
  await p.interviewer.locator('[data-testid="language-picker"]').selectOption('javascript');
  await waitFor(async () => (await p.candidate.locator('[data-testid="language-picker"]').inputValue()) === 'javascript', { what: 'language switch' });
  for (let i = 0; i < N; i++) {
    const marker = `J${i}x${Date.now() % 100000}`;
    await setCode(p.candidate, `console.log("${marker}")`);
    js.push(await timedRun(p.candidate, marker));
    await waitIdle(p.candidate);
  }

  console.log(`in-browser code runs, ${new Date().toISOString()}, chromium headless, server ${server.url}`);
  summary('Python ready + first run, cold (fresh context)', cold);
  summary('Python run round trip, warm', warm);
  summary('JavaScript run round trip', js);
  summary("candidate's output -> interviewer's panel", shared);
  await p.ictx.close();
  await p.cctx.close();
} finally {
  await browser.close();
  await server.stop();
}
