// A real OpenID provider for tests and local trials: `oidc-provider` (a certified implementation)
// with its development login page, where any login is accepted and becomes the account.
//
// The login is the email address: `ada@example.com` signs in with a verified email; a login
// starting with `unverified.` (e.g. `unverified.bob@example.com`) gets `email_verified: false`.
//
// Run alone:  node tests/oidc/provider.mjs   (PORT, REDIRECT_URI, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)
import Provider from 'oidc-provider';

export const CLIENT_ID = 'interview-ide';
export const CLIENT_SECRET = 'a-test-client-secret-of-enough-length';

/** Starts the provider on 127.0.0.1; resolves to { issuer, clientId, clientSecret, stop }. */
export async function startProvider({ redirectUri, port = 0, clientId = CLIENT_ID, clientSecret = CLIENT_SECRET }) {
  // The issuer must be known before listening: take a free port first when none is given.
  if (!port) port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(_ctx, id) {
      const email = id.includes('@') ? id : `${id}@example.com`;
      return {
        accountId: id,
        async claims() {
          return { sub: id, email, email_verified: !id.startsWith('unverified.'), name: email.split('@')[0] };
        },
      };
    },
    cookies: { keys: ['test-cookie-signing-key'] },
    features: { devInteractions: { enabled: true } },
  });
  // Development-mode warnings (dev login page, generated keys) are expected here.
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider:', err));
  const server = provider.listen(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const p = await startProvider({
    port: Number(process.env.PORT || 9090),
    redirectUri: process.env.REDIRECT_URI || 'http://127.0.0.1:8080/api/auth/sso/callback',
    clientId: process.env.OIDC_CLIENT_ID || CLIENT_ID,
    clientSecret: process.env.OIDC_CLIENT_SECRET || CLIENT_SECRET,
  });
  console.log(`OpenID provider at ${p.issuer} (client id ${p.clientId})`);
}
