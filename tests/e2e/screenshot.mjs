// Makes docs/screenshot.png: a live session seen by the interviewer, with the candidate typing.
// Run from tests/: node e2e/screenshot.mjs
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, waitFor } from '../lib/server.mjs';
import { byTestId, signInBrowser, editorText, joinSession, launchBrowser, newPage, remoteCursors, waitOnline } from './browser.mjs';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshot.png');

const INTERVIEWER = 'Maya Chen';
const CANDIDATE = 'Sam Rivera';

// What the candidate has written so far (pasted in one go), then the line they are typing.
const WRITTEN = `from collections import deque


def shortest_path(grid: list[str]) -> int:
    """Steps from S to E moving up, down, left or right; -1 if E cannot be reached."""
    rows, cols = len(grid), len(grid[0])
    start = next((r, c) for r, row in enumerate(grid) for c, ch in enumerate(row) if ch == "S")
    queue = deque([(start, 0)])
    seen = {start}
    while queue:
        (r, c), steps = queue.popleft()
        if grid[r][c] == "E":
            return steps
        for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
            if 0 <= nr < rows and 0 <= nc < cols and grid[nr][nc] != "#" and (nr, nc) not in seen:
                seen.add((nr, nc))
                queue.append(((nr, nc), steps + 1))
    return -1


`;
const TYPING = 'print(shortest_path(["S.#.", "..#E", "#..."]))';

/** Replaces the whole document as a paste would (Monaco re-indents typed newlines, not pastes). */
async function pasteAll(page, text) {
  await page.locator('[data-testid="editor"] .view-lines').click();
  await page.keyboard.press('Control+a');
  await page.evaluate((t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    document.activeElement.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

const server = await startServer();
const browser = await launchBrowser();
try {
  // The interviewer creates the session on the home page and opens it from there.
  const interviewer = await newPage(browser);
  await signInBrowser(interviewer, server.url);
  await interviewer.goto(server.url);
  await interviewer.getByLabel('Title').fill('Backend pairing: grid search');
  await byTestId(interviewer, 'create-session').click();
  const candidateUrl = await byTestId(interviewer, 'candidate-link').inputValue();
  const interviewerUrl = await byTestId(interviewer, 'interviewer-link').inputValue();

  const candidate = await newPage(browser);
  await joinSession(interviewer, interviewerUrl, INTERVIEWER);
  await joinSession(candidate, candidateUrl, CANDIDATE);
  await waitOnline(interviewer, [INTERVIEWER, CANDIDATE]);

  await pasteAll(candidate, WRITTEN);
  await waitFor(async () => (await editorText(interviewer)).includes('return -1'), { what: 'code at the interviewer' });
  await candidate.keyboard.press('Control+End');
  // Monaco closes brackets and quotes as one types and steps over the closing ones, as for a person.
  await candidate.keyboard.type(TYPING, { delay: 25 });

  const expected = WRITTEN + TYPING;
  await waitFor(async () => (await editorText(interviewer)) === expected, { what: 'the typed line at the interviewer' }).catch(async (e) => {
    throw new Error(`${e.message}; the interviewer sees:\n${await editorText(interviewer)}`);
  });
  // The candidate runs it (Ctrl+Enter keeps the editor focused, so the caret stays shared); the
  // interviewer sees the run live.
  await candidate.keyboard.press('Control+Enter');
  await waitFor(async () => /\b6\b/.test(await byTestId(interviewer, 'run-output').innerText()), { timeout: 60_000, what: 'the run at the interviewer' });
  await candidate.keyboard.press('Home');
  await candidate.keyboard.press('End');
  // The candidate's caret and name label, fully shown.
  await waitFor(async () => (await remoteCursors(interviewer)).some((c) => c.name === CANDIDATE && c.line?.startsWith('print(')), {
    what: "the candidate's cursor",
  });
  await waitFor(
    () => interviewer.evaluate(() => [...document.querySelectorAll('.yRemoteSelectionHead')].some((h) => getComputedStyle(h, '::after').opacity === '1')),
    { what: 'the name label' },
  );
  await interviewer.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await server.stop();
}
