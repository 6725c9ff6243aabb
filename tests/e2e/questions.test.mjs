// The question library in the pad: a session made from a question shows its description beside
// the editor; "Run tests" runs the visible tests for the candidate and every test for the
// interviewer; hidden tests never reach the candidate's page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { launchBrowser, newPage, joinSession, byTestId, editorText, runAxe, formatViolations, CLIPBOARD, setCode, signInBrowser } from './browser.mjs';

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
  await waitFor(async () => (await editorText(candidate)).includes('def fizz_buzz'), { what: "the question's starter code" });
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

test('an interviewer writes a question for the team, with a hidden test, and interviews with it', async () => {
  const author = await newPage(browser);
  await signInBrowser(author, server.url);
  await author.goto(server.url);
  await byTestId(author, 'questions-link').click();
  await byTestId(author, 'library-questions').waitFor({ timeout: 10_000 });
  assert.match(await byTestId(author, 'library-questions').innerText(), /Two Sum/);
  // A library question reads like a page (description rendered, a starter per language), read-only.
  await author.getByRole('link', { name: 'View Two Sum' }).click();
  await byTestId(author, 'library-readonly').waitFor({ timeout: 10_000 });
  assert.match(await byTestId(author, 'question-preview-body').innerText(), /two numbers that add up/);
  await byTestId(author, 'starter-language').selectOption('go');
  assert.match(await byTestId(author, 'starter-code').inputValue(), /func twoSum\(nums \[\]int, target int\)/);
  assert.equal(await byTestId(author, 'starter-code').getAttribute('readonly'), '');
  assert.equal(await byTestId(author, 'question-save').count(), 0);
  await author.goto(`${server.url}/questions`);

  // Write it: title, Markdown description (previewed), a Python starter, a visible and a hidden test.
  await byTestId(author, 'question-new').click();
  await byTestId(author, 'question-title').fill('Sum of a line');
  await byTestId(author, 'question-description').fill('Print the **sum** of the integers on the line.');
  await byTestId(author, 'question-preview').click();
  assert.equal(await byTestId(author, 'question-preview-body').locator('strong').innerText(), 'sum');
  await byTestId(author, 'starter-language').selectOption('python');
  await byTestId(author, 'starter-code').fill('def line_sum(nums):\n    return 0  # TODO\n\nprint(line_sum(list(map(int, input().split()))))\n');
  await byTestId(author, 'test-name-0').fill('small');
  await byTestId(author, 'test-input-0').fill('1 2 3\n');
  await byTestId(author, 'test-expected-0').fill('6\n');
  await byTestId(author, 'question-add-test').click();
  await byTestId(author, 'test-name-1').fill('negative');
  await byTestId(author, 'test-input-1').fill('-5 5 -1\n');
  await byTestId(author, 'test-expected-1').fill('-1\n');
  await byTestId(author, 'test-hidden-1').check();
  // A mistake first: two tests of one name are refused with the reason, and nothing is lost.
  await byTestId(author, 'test-name-1').fill('small');
  await author.keyboard.press('Control+s');
  await author.locator('[data-testid="question-status"][data-state="error"]').waitFor({ timeout: 10_000 });
  assert.match(await byTestId(author, 'question-status').innerText(), /two tests are named 'small'/);
  await byTestId(author, 'test-name-1').fill('negative');
  await byTestId(author, 'question-save').click();
  await author.locator('[data-testid="question-status"][data-state="saved"]').waitFor({ timeout: 10_000 });
  assert.match(new URL(author.url()).pathname, /^\/questions\/sum-of-a-line-[0-9a-f]{6}$/);
  const serious = (await runAxe(author)).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(serious.length, 0, formatViolations(serious));
  if (process.env.SCREENSHOT_DIR) await author.screenshot({ path: `${process.env.SCREENSHOT_DIR}/question-editor.png`, fullPage: true });

  // Listed as the team's; then picked in the new-session form.
  await author.goto(`${server.url}/questions`);
  await byTestId(author, 'team-questions').getByText('Sum of a line').waitFor({ timeout: 10_000 });
  assert.match(await byTestId(author, 'team-questions').innerText(), /2 tests, 1 hidden/);
  await author.goto(server.url);
  const picker = byTestId(author, 'question-picker');
  await picker.locator('optgroup[label="Your team\'s questions"] option', { hasText: 'Sum of a line' }).waitFor({ state: 'attached', timeout: 10_000 });
  await picker.selectOption({ label: 'Sum of a line' });
  await byTestId(author, 'create-session').click();
  const candidateUrl = await byTestId(author, 'candidate-link').inputValue();
  const interviewerUrl = await byTestId(author, 'interviewer-link').inputValue();

  const candidate = await newPage(browser, CLIPBOARD);
  const interviewer = await newPage(browser, CLIPBOARD);
  await joinSession(candidate, candidateUrl, 'Grace');
  await joinSession(interviewer, interviewerUrl, 'Ada');
  await waitFor(async () => (await editorText(candidate)).includes('def line_sum'), { what: "the question's own starter" });
  assert.match(await byTestId(candidate, 'question-panel').innerText(), /Sum of a line[\s\S]*sum/);
  assert.equal(await byTestId(candidate, 'test-result').count(), 1);
  assert.ok(!(await candidate.content()).includes('-5 5 -1'), 'the hidden test never reaches the candidate');
  await setCode(candidate, 'print(sum(map(int, input().split())))\n');
  assert.equal(await runTests(candidate), '1 passed, 0 failed');
  await waitFor(async () => (await editorText(interviewer)).includes('print(sum'), { what: 'the solution on the interviewer page' });
  assert.equal(await runTests(interviewer), '2 passed, 0 failed');

  // Deleted from the list (after a confirmation): gone for new sessions.
  await author.goto(`${server.url}/questions`);
  const row = byTestId(author, 'team-questions').locator('tr', { hasText: 'Sum of a line' });
  await row.getByRole('button', { name: 'Delete Sum of a line' }).click();
  await row.getByRole('button', { name: 'Delete for good' }).click();
  await byTestId(author, 'team-questions-empty').waitFor({ timeout: 10_000 });
  const errors = [author, candidate, interviewer].flatMap((p) => p.errors.filter((e) => e.startsWith('pageerror')));
  assert.deepEqual(errors, [], 'uncaught errors in the page');
  for (const p of [author, candidate, interviewer]) await p.context().close();
});
