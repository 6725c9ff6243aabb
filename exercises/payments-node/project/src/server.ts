// Starts the service: `npm start` (port 8000), or on a Unix socket given as the first argument.
import { rmSync } from 'node:fs';
import { createApp } from './app.ts';
import { open } from './db.ts';
import { PROVIDER_URL } from './provider.ts';

const socket = process.argv[2];
// A socket file left by the previous run (a restart on change) would make listen() fail.
if (socket) rmSync(socket, { force: true });
const where = socket ?? Number(process.env.PORT ?? 8000);
const app = createApp(open(), PROVIDER_URL);
app.listen(where, () => console.log(`payments service listening on ${where}; provider at ${PROVIDER_URL}`));
