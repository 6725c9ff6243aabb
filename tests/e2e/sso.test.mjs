// OpenID Connect sign-in against a real provider (oidc-provider, tests/oidc/provider.mjs): the
// full code flow with PKCE driven over HTTP (provider login and consent pages included), the
// refusals (wrong state, unverified email, disallowed domain, unknown user, disabled user), and
// the browser clicking "Sign in with SSO" through the provider's login page to the team list.
import { test, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { freePort, startServer, adminCookie } from '../lib/server.mjs';
import { startProvider } from '../oidc/provider.mjs';
import { byTestId, formatViolations, launchBrowser, newPage, runAxe } from './browser.mjs';

let provider;
let server; // SSO users are created on first sign-in, into team "Engineering"; domains example.com and example.org
let strict; // no creation, only example.com
let browser;

async function serverWithProvider(extra) {
  const port = await freePort();
  const p = await startProvider({ redirectUri: `http://127.0.0.1:${port}/api/auth/sso/callback` });
  const s = await startServer(
    ['--oidc-issuer', p.issuer, '--oidc-client-id', p.clientId, '--oidc-name', 'Test IdP', ...extra],
    { port },
  );
  // The secret goes by environment in production; here by flag, never into the log.
  return { p, s };
}

before(async () => {
  ({ p: provider, s: server } = await serverWithProvider([
    '--oidc-client-secret', 'a-test-client-secret-of-enough-length',
    '--oidc-create-users', '--oidc-team', 'Engineering', '--oidc-allowed-domains', 'example.com,example.org',
  ]));
  const second = await serverWithProvider(['--oidc-client-secret', 'a-test-client-secret-of-enough-length', '--oidc-allowed-domains', 'example.com']);
  strict = second;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.stop();
  await strict?.s.stop();
  await strict?.p.stop();
});

/** A cookie jar for one user agent (cookies of 127.0.0.1 go to every port, as in a browser). */
function jar() {
  const cookies = new Map();
  return {
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    take(res) {
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(';');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i).trim();
        const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=.*1970/i.test(a));
        if (gone) cookies.delete(name);
        else cookies.set(name, pair.slice(i + 1));
      }
    },
    get: (name) => cookies.get(name),
    set: (name, value) => cookies.set(name, value),
  };
}

/**
 * Signs in through SSO as `login` at the provider's dev login page (then its consent page).
 * Returns the server's last answer (the callback's) and the jar. `tamper(url)` may change the
 * callback URL before it is followed.
 */
async function ssoSignIn(base, login, { tamper = (u) => u, cookies = jar(), callbackBase = base } = {}) {
  let url = `${base}/api/auth/sso/start`;
  let method = 'GET';
  let body;
  for (let hop = 0; hop < 20; hop++) {
    if (url.startsWith(`${callbackBase}/api/auth/sso/callback`)) url = tamper(url);
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { cookie: cookies.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      body,
    });
    cookies.take(res);
    method = 'GET';
    body = undefined;
    if (url.startsWith(`${callbackBase}/api/auth/sso/callback`)) return { res, cookies, text: await res.text() };
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).href;
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `provider page ${url}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    assert.ok(action && prompt, `a provider form at ${url}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    method = 'POST';
    body = prompt === 'login' ? new URLSearchParams({ prompt, login, password: 'any' }).toString() : new URLSearchParams({ prompt }).toString();
  }
  throw new Error('too many redirects');
}

async function me(base, cookies) {
  const res = await fetch(`${base}/api/auth/me`, { headers: { cookie: cookies.header() } });
  return { status: res.status, body: res.status === 200 ? await res.json() : null };
}

test('the config names the provider; the flow signs in with the same cookie as a password', async () => {
  const config = await (await fetch(`${server.url}/api/auth/config`)).json();
  assert.equal(config.sso, 'Test IdP');

  const { res, cookies } = await ssoSignIn(server.url, 'ada@example.com');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  const set = res.headers.getSetCookie().find((c) => c.startsWith('iide_account='));
  assert.match(set, /HttpOnly/);
  assert.match(set, /SameSite=Lax/);
  const who = await me(server.url, cookies);
  assert.equal(who.status, 200);
  assert.equal(who.body.user.email, 'ada@example.com');
  assert.equal(who.body.user.role, 'interviewer');
  assert.equal(who.body.team.name, 'Engineering', 'created on first sign-in into OIDC_TEAM');

  // Signing in again finds the same account; the audit log has both sign-ins and the creation.
  const again = await ssoSignIn(server.url, 'ada@example.com');
  assert.equal((await me(server.url, again.cookies)).body.user.id, who.body.user.id);
  const res2 = await fetch(`${server.url}/api/admin/audit`, { headers: { cookie: `iide_account=${adminCookie(server.url)}` } });
  const audit = await res2.json();
  assert.equal(res2.status, 200, JSON.stringify(audit));
  const entries = (Array.isArray(audit) ? audit : audit.entries).filter((e) => e.actor === 'ada@example.com');
  assert.ok(entries.some((e) => e.action === 'user_created' && e.detail.via === 'sso'));
  assert.equal(entries.filter((e) => e.action === 'sign_in' && e.detail.method === 'sso').length, 2);

  // No secret in the log.
  assert.ok(!server.log().includes('a-test-client-secret'), 'the client secret is not logged');
});

test('a wrong or replayed state is refused', async () => {
  // Another state than the one this browser was given.
  const wrong = await ssoSignIn(server.url, 'ada@example.com', { tamper: (u) => u.replace(/state=[^&]+/, 'state=forged') });
  assert.equal(wrong.res.status, 400);
  assert.match(wrong.text, /expired or was already used/);
  assert.equal((await me(server.url, wrong.cookies)).status, 401);

  // A callback followed twice: the second time the state is spent.
  let callback;
  const first = await ssoSignIn(server.url, 'ada@example.com', { tamper: (u) => (callback = u) });
  assert.equal(first.res.status, 303);
  const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: `iide_sso=${new URL(callback).searchParams.get('state')}` } });
  assert.equal(replay.status, 400);

  // A callback without the state cookie of the browser that started (login CSRF).
  let other;
  await ssoSignIn(server.url, 'ada@example.com', { tamper: (u) => (other = u, `${server.url}/api/auth/sso/callback?stop=1`) });
  const foreign = await fetch(other, { redirect: 'manual' });
  assert.equal(foreign.status, 400);
  assert.ok(!foreign.headers.getSetCookie().some((c) => c.startsWith('iide_account=') && !c.startsWith('iide_account=;')));
});

test('an unverified email, a disallowed domain, an unknown user without creation and a disabled user are refused', async () => {
  const unverified = await ssoSignIn(server.url, 'unverified.bob@example.com');
  assert.equal(unverified.res.status, 403);
  assert.match(unverified.text, /verified email/);
  assert.equal((await me(server.url, unverified.cookies)).status, 401);

  const domain = await ssoSignIn(server.url, 'eve@elsewhere.net');
  assert.equal(domain.res.status, 403);
  assert.match(domain.text, /email domain/);

  // The strict server creates no one: an unknown email is refused, the admin's own email signs in.
  const unknown = await ssoSignIn(strict.s.url, 'carol@example.com');
  assert.equal(unknown.res.status, 403);
  assert.match(unknown.text, /no account has this email/);
  const admin = await ssoSignIn(strict.s.url, 'admin@example.com');
  assert.equal(admin.res.status, 303);
  assert.equal((await me(strict.s.url, admin.cookies)).body.user.role, 'admin');
  const allowed = await fetch(`${strict.s.url}/api/auth/config`).then((r) => r.json());
  assert.equal(allowed.sso, 'Test IdP');

  // A disabled user is refused.
  const dan = await ssoSignIn(server.url, 'dan@example.org');
  const danId = (await me(server.url, dan.cookies)).body.user.id;
  const disable = await fetch(`${server.url}/api/admin/users/${danId}/disable`, {
    method: 'POST',
    headers: { cookie: `iide_account=${adminCookie(server.url)}`, 'x-requested-with': 'interview-ide' },
  });
  assert.equal(disable.status, 204, await disable.text());
  const refused = await ssoSignIn(server.url, 'dan@example.org');
  assert.equal(refused.res.status, 403);
  assert.match(refused.text, /disabled/);
});

test('the browser: "Sign in with SSO", the provider login and consent, the team list', async () => {
  const page = await newPage(browser);
  await page.goto(`${server.url}/signin`);
  await byTestId(page, 'signin-sso').click();
  // The provider's development login page: any login, any password.
  await page.locator('input[name="login"]').fill('grace@example.com');
  await page.locator('input[name="password"]').fill('any');
  await page.locator('button[type="submit"]').click();
  // Its consent page.
  await page.locator('button[type="submit"]').click();
  await byTestId(page, 'sessions-list').waitFor();
  await byTestId(page, 'account-bar').getByText('grace@example.com').first().waitFor();
  await page.screenshot({ path: '/tmp/sso-team-list.png' });
  const { violations } = await runAxe(page);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.equal(blocking.length, 0, formatViolations(blocking));

  // A refused sign-in lands on a page saying why, with the way back.
  const other = await newPage(browser);
  await other.goto(`${server.url}/signin`);
  await byTestId(other, 'signin-sso').click();
  await other.locator('input[name="login"]').fill('unverified.kim@example.com');
  await other.locator('input[name="password"]').fill('any');
  await other.locator('button[type="submit"]').click();
  await other.locator('button[type="submit"]').click();
  await byTestId(other, 'sso-error').waitFor();
  assert.match(await byTestId(other, 'sso-error').innerText(), /verified email/);
  await other.screenshot({ path: '/tmp/sso-refused.png' });
  await other.getByRole('link', { name: 'Back to sign-in' }).click();
  await byTestId(other, 'signin-sso').waitFor();
  // The provider's dev pages load outside resources and the refusal page answers 403: only the
  // pages' own script errors count.
  assert.deepEqual([...page.errors, ...other.errors].filter((e) => e.startsWith('pageerror')), []);
});

test('a refusal by the provider shows its error code only, not a text anyone could put in a link', async () => {
  const res = await fetch(`${server.url}/api/auth/sso/callback?error=access_denied&error_description=${encodeURIComponent('<b>Call 555</b>')}`);
  assert.equal(res.status, 403);
  const text = await res.text();
  assert.match(text, /refused the sign-in \(access_denied\)/);
  assert.ok(!text.includes('555'));
});

const DB = process.env.TEST_DATABASE_URL;
const REDIS = process.env.TEST_REDIS_URL;
const noCluster = !DB || !REDIS ? 'cluster mode needs TEST_DATABASE_URL and TEST_REDIS_URL' : false;
if (noCluster) console.log(`SKIPPED: the cross-node SSO test: ${noCluster}`);

test('cluster mode: a sign-in started on one node finishes on another, once', { skip: noCluster }, async () => {
  const run = randomBytes(3).toString('hex');
  const portB = await freePort();
  // The provider sends the browser back to B (as a load balancer may); the sign-in starts on A.
  const p = await startProvider({ redirectUri: `http://127.0.0.1:${portB}/api/auth/sso/callback` });
  const flags = [
    '--redis-url', REDIS, '--public-url', `http://127.0.0.1:${portB}`,
    '--oidc-issuer', p.issuer, '--oidc-client-id', p.clientId, '--oidc-client-secret', 'a-test-client-secret-of-enough-length',
    '--oidc-create-users', '--oidc-allowed-domains', 'example.com',
  ];
  const a = await startServer([...flags, '--node-id', `sso-a-${run}`], { databaseUrl: DB });
  const b = await startServer([...flags, '--node-id', `sso-b-${run}`], { databaseUrl: DB, port: portB });
  try {
    const email = `sso-${run}@example.com`;
    /** @type {string | undefined} */
    let callback;
    let stateCookies;
    const cookies = jar();
    const tamper = (u) => {
      callback = u;
      stateCookies = cookies.header(); // still holding this browser's state cookie
      return u;
    };
    const { res } = await ssoSignIn(a.url, email, { callbackBase: b.url, tamper, cookies });
    assert.equal(res.status, 303, 'B finishes the sign-in A started');
    for (const node of [a, b]) {
      const who = await me(node.url, cookies);
      assert.equal(who.status, 200);
      assert.equal(who.body.user.email, email);
    }
    // The state is single use across the cluster: replayed on A, it is refused.
    assert.ok(callback, 'the provider sent the browser back to the callback');
    const replay = await fetch(callback.replace(b.url, a.url), { redirect: 'manual', headers: { cookie: stateCookies } });
    assert.equal(replay.status, 400, 'a used state is refused by the other node too');
  } finally {
    await a.stop();
    await b.stop();
    await p.stop();
  }
});
