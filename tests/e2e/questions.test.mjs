// The question library in the pad: a session made from a question shows its description beside
// the editor; "Run tests" runs the visible tests for the candidate and every test for the
// interviewer; hidden tests never reach the candidate's page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { launchBrowser, newPage, joinSession, byTestId, editorText, runAxe, formatViolations, CLIPBOARD, setCode } from './browser.mjs';

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

async function runTests(page) {
  const before = await byTestId(page, 'tests-summary').count() ? await byTestId(page, 'tests-summary').innerText() : null;
  await byTestId(page, 'run-tests').click();
  await waitFor(async () => {
    if (!(await byTestId(page, 'tests-summary').count())) return false;
    const now = await byTestId(page, 'tests-summary').innerText();
    return (await byTestId(page, 'run-tests').isEnabled()) && now !== before;
  }, { timeout: 120_000, interval: 100, what: 'the test results' });
  return byTestId(page, 'tests-summary').innerText();
}

const SOLUTION = 'n = int(input())\nfor i in range(1, n + 1):\n    print("FizzBuzz" if i % 15 == 0 else "Fizz" if i % 3 == 0 else "Buzz" if i % 5 == 0 else i)\n';

test("a question's tests run as both roles; hidden ones only for the interviewer", async () => {
  const session = await createSession(server.url, { language: 'python', question: 'fizzbuzz' });
  const candidate = await newPage(browser, CLIPBOARD);
  const interviewer = await newPage(browser, CLIPBOARD);
  await joinSession(candidate, session.candidate_url, 'Grace');
  await joinSession(interviewer, session.interviewer_url, 'Ada');

  // The description beside the editor, for both; the pad starts from the question's starter.
  for (const page of [candidate, interviewer]) {
    await byTestId(page, 'question-panel').waitFor({ timeout: 10_000 });
    assert.match(await byTestId(page, 'question-panel').innerText(), /FizzBuzz[\s\S]*multiples of 3/);
  }
  await waitFor(async () => (await editorText(candidate)).includes('def solve'), { what: 'the starter code' });
  assert.equal(await byTestId(candidate, 'test-result').count(), 2);
  assert.equal(await byTestId(interviewer, 'test-result').count(), 4);
  const candidateHtml = await candidate.content();
  assert.ok(!candidateHtml.includes('n = 30') && !candidateHtml.includes('hidden</span>'), 'no hidden test on the candidate page');

  // The starter fails the visible tests; a solution passes them.
  assert.equal(await runTests(candidate), '0 passed, 2 failed');
  await setCode(candidate, SOLUTION);
  assert.equal(await runTests(candidate), '2 passed, 0 failed');
  assert.equal(await byTestId(candidate, 'test-result').count(), 2);

  // The interviewer runs the hidden ones too, on the same shared code.
  await waitFor(async () => (await editorText(interviewer)).includes('FizzBuzz'), { what: 'the solution on the interviewer page' });
  assert.equal(await runTests(interviewer), '4 passed, 0 failed');
  assert.equal(await interviewer.locator('[data-testid="test-result"] .run-tag').count(), 2);

  for (const [who, page] of [['candidate', candidate], ['interviewer', interviewer]]) {
    const serious = (await runAxe(page)).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.equal(serious.length, 0, `${who}: ${formatViolations(serious)}`);
  }
  if (process.env.SCREENSHOT_DIR) await interviewer.screenshot({ path: `${process.env.SCREENSHOT_DIR}/question-interviewer.png` });
  await candidate.context().close();
  await interviewer.context().close();
});
