// The assistant in real browsers, against a local fake of the Anthropic streaming API: the
// candidate asks, the answer streams in, the interviewer reads along live and sets the mode.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, createSession, waitFor } from '../lib/server.mjs';
import { startFakeAnthropic } from '../lib/fake-anthropic.mjs';
import { VIEWPORT, byTestId, collectErrors, formatViolations, joinSession, launchBrowser, runAxe, waitOnline } from './browser.mjs';

const ANSWER = [
  'To find the bug,',
  ' look at the',
  ' loop bound.\n\n',
  '```python\n',
  'for i in range(len(xs)):\n',
  '    print(xs[i])\n',
  '```\n\n',
  'That is the **hint**.',
];
const XSS = ['Careful: <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>', ' [link](javascript:window.__xss=3) done'];

let fake;
let server;
let browser;

before(async () => {
  fake = await startFakeAnthropic({
    holdAfter: 3,
    reply: (req) => {
      const last = req.messages.at(-1).content;
      return last.includes('xss') ? XSS : ANSWER;
    },
  });
  server = await startServer(['--anthropic-api-key', 'sk-ant-browser-test', '--anthropic-base-url', fake.url]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await fake?.stop();
});

async function page() {
  const context = await browser.newContext({ viewport: VIEWPORT });
  return collectErrors(await context.newPage());
}

const chatText = (p, id) => byTestId(p, id).innerText();

async function shot(p, name) {
  if (process.env.SCREENSHOT_DIR) await p.screenshot({ path: join(process.env.SCREENSHOT_DIR, name) });
}

test('the candidate asks, the answer streams in, the interviewer reads along and sets the mode', async () => {
  const session = await createSession(server.url);
  const interviewer = await page();
  const candidate = await page();
  await joinSession(interviewer, session.interviewer_url, 'Ada');
  await joinSession(candidate, session.candidate_url, 'Bob');
  await waitOnline(interviewer, ['Ada', 'Bob']);

  // Both see the assistant's state; only the interviewer has the mode picker.
  await waitFor(async () => (await byTestId(candidate, 'assistant-status').getAttribute('data-state')) === 'hints', { what: 'candidate status' });
  await byTestId(interviewer, 'assistant-mode').waitFor();
  assert.equal(await byTestId(candidate, 'assistant-mode').count(), 0, 'no mode picker for the candidate');
  assert.equal(await byTestId(interviewer, 'assistant-mode').inputValue(), 'hints');

  // Ask about the file: the question goes with the editor's code.
  await byTestId(candidate, 'chat-input').fill('Why does my loop skip the last item?');
  await byTestId(candidate, 'chat-ask-file').click();

  // The fake holds back after three pieces: what is shown now was streamed, not buffered.
  await waitFor(async () => (await chatText(candidate, 'chat-messages')).includes('To find the bug, look at the loop bound.'), { what: 'first pieces in the chat' });
  assert.equal(fake.sentPieces, 3, 'the provider has not sent the rest yet');
  assert.ok(await byTestId(candidate, 'chat-stop').isVisible(), 'Stop is offered while streaming');
  // The interviewer sees the same partial answer live, read-only.
  await waitFor(async () => {
    const t = await chatText(interviewer, 'assistant-transcript');
    return t.includes('Why does my loop skip the last item?') && t.includes('To find the bug, look at the loop bound.');
  }, { what: 'the interviewer transcript follows the stream' });
  await shot(candidate, 'assistant-candidate-streaming.png');

  fake.release();
  const reply = byTestId(candidate, 'chat-messages').locator('[data-role="assistant"]').last();
  await waitFor(async () => (await reply.getAttribute('data-status')) === 'done', { what: 'reply done' });
  assert.match(await reply.innerText(), /That is the hint\./);
  // The code block is highlighted by Monaco's colorizer.
  await waitFor(async () => (await reply.locator('pre code.colorized span[class^="mtk"]').count()) > 0, { what: 'colorized code block' });
  assert.equal(await reply.locator('strong').innerText(), 'hint');

  const request = fake.requests.at(-1).body;
  assert.match(request.system, /HINTS ONLY/);
  const sent = request.messages.at(-1).content;
  assert.match(sent, /<editor_context kind="file" language="python">/);
  assert.match(sent, /def greet/, 'the editor code went along');
  assert.match(sent, /Why does my loop skip the last item\?$/);
  assert.equal(fake.requests.at(-1).headers['x-api-key'], 'sk-ant-browser-test');

  await waitFor(async () => (await chatText(interviewer, 'assistant-transcript')).includes('That is the hint.'), { what: 'full answer in the transcript' });
  assert.match(await chatText(interviewer, 'assistant-transcript'), /with the current file/);
  await waitFor(async () => /\b\d+ \/ 200,000 tokens/.test(await byTestId(interviewer, 'assistant-budget').innerText()), { what: 'usage shown' });
  await shot(candidate, 'assistant-candidate.png');
  await shot(interviewer, 'assistant-interviewer.png');
  for (const [who, p] of [['candidate', candidate], ['interviewer', interviewer]]) {
    const serious = (await runAxe(p)).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.equal(serious.length, 0, `accessibility violations in the ${who}'s chat:\n${formatViolations(serious)}`);
  }

  // Stop: the partial answer stays, marked as cut off, for both.
  await byTestId(candidate, 'chat-input').fill('And a second question?');
  await byTestId(candidate, 'chat-send').click();
  await waitFor(async () => (await byTestId(candidate, 'chat-messages').locator('[data-role="assistant"]').count()) === 2, { what: 'second reply' });
  const second = byTestId(candidate, 'chat-messages').locator('[data-role="assistant"]').last();
  await waitFor(async () => (await second.innerText()).includes('loop bound'), { what: 'second reply streaming' });
  await byTestId(candidate, 'chat-stop').click();
  await waitFor(async () => (await second.getAttribute('data-status')) === 'cut_off', { what: 'stopped reply marked' });
  assert.match(await second.innerText(), /Cut off/);
  const ivSecond = byTestId(interviewer, 'assistant-transcript').locator('[data-role="assistant"]').last();
  await waitFor(async () => (await ivSecond.getAttribute('data-status')) === 'cut_off', { what: 'interviewer sees it cut off' });
  fake.release();

  // Untrusted Markdown cannot run script under the page (sanitized, and the CSP forbids inline script).
  await byTestId(candidate, 'chat-input').fill('xss please');
  await byTestId(candidate, 'chat-send').click();
  const third = byTestId(candidate, 'chat-messages').locator('[data-role="assistant"]').nth(2);
  await waitFor(async () => (await third.getAttribute('data-status')) === 'done', { what: 'xss reply done' });
  assert.equal(await third.locator('img, script').count(), 0);
  for (const href of await third.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))) {
    assert.ok(!href || !href.startsWith('javascript:'), `no javascript: link (${href})`);
  }
  assert.equal(await candidate.evaluate(() => /** @type {any} */ (window).__xss), undefined);

  // History survives a reload (GET /chat).
  await candidate.reload();
  await waitFor(async () => (await byTestId(candidate, 'chat-messages').locator('[data-testid="chat-message"]').count()) === 6, { what: 'history after reload' });
  assert.match(await chatText(candidate, 'chat-messages'), /That is the hint\./);
  assert.match(await chatText(candidate, 'chat-messages'), /Cut off/);

  // The interviewer turns the assistant off: the candidate's page follows at once.
  await byTestId(interviewer, 'assistant-mode').selectOption('off');
  await waitFor(async () => (await byTestId(candidate, 'assistant-status').getAttribute('data-state')) === 'off', { what: 'candidate sees off' });
  assert.ok(await byTestId(candidate, 'chat-input').isDisabled());
  await byTestId(interviewer, 'assistant-mode').selectOption('full');
  await waitFor(async () => (await byTestId(candidate, 'assistant-status').getAttribute('data-state')) === 'full', { what: 'candidate sees full' });

  for (const p of [candidate, interviewer]) {
    const bad = p.errors.filter((e) => e.startsWith('pageerror') || /Content Security Policy/i.test(e));
    assert.deepEqual(bad, [], 'no page errors or CSP violations');
  }
});

test('without a provider the sidebar says so and how to configure it', async () => {
  const bare = await startServer();
  try {
    const session = await createSession(bare.url);
    const candidate = await page();
    const interviewer = await page();
    await joinSession(candidate, session.candidate_url, 'Bob');
    await joinSession(interviewer, session.interviewer_url, 'Ada');
    const status = byTestId(candidate, 'assistant-status');
    await waitFor(async () => (await status.getAttribute('data-state')) === 'not-configured', { what: 'not configured' });
    assert.match(await status.innerText(), /not configured/);
    assert.ok(await byTestId(candidate, 'chat-input').isDisabled());
    await waitFor(async () => /ANTHROPIC_API_KEY/.test(await byTestId(interviewer, 'assistant-status').innerText()), { what: 'how to configure, for the interviewer' });
  } finally {
    await bare.stop();
  }
});
