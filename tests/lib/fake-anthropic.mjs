// A local stand-in for the Anthropic Messages API that speaks its exact streaming wire format
// (message_start, content_block_start, ping, content_block_delta/text_delta, content_block_stop,
// message_delta with usage, message_stop). Used by the browser test and the benchmark.
import { createServer } from 'node:http';

/**
 * Starts the fake on an ephemeral port.
 * - `reply(request)` returns the answer's pieces (one text_delta each).
 * - `intervalMs` spaces the pieces.
 * - `holdAfter`: after that many pieces, wait until `release()` is called (to observe streaming).
 * - `onSent(requestNo, index, hrtimeNs)` is called as each piece is written (benchmark timing).
 * @param {{ reply?: (request: any) => string[], intervalMs?: number, holdAfter?: number | null,
 *   onSent?: ((requestNo: number, index: number, hrtimeNs: bigint) => void) | null }} [options]
 */
export async function startFakeAnthropic({ reply, intervalMs = 0, holdAfter = null, onSent = null } = {}) {
  const requests = [];
  let releaseWaiters = [];
  let sentPieces = 0;
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/messages') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }));
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    const answer = async () => {
      const json = JSON.parse(body);
      const requestNo = requests.length;
      requests.push({ headers: req.headers, body: json });
      if (!req.headers['x-api-key']) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.socket.setNoDelay(true);
      const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const pieces = reply ? reply(json) : ['Hello', ' from', ' the', ' fake.'];
      send('message_start', {
        type: 'message_start',
        message: { id: `msg_${requestNo}`, type: 'message', role: 'assistant', content: [], model: json.model, stop_reason: null, stop_sequence: null, usage: { input_tokens: 42, output_tokens: 1 } },
      });
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      send('ping', { type: 'ping' });
      let closed = false;
      res.on('close', () => (closed = true));
      for (let i = 0; i < pieces.length && !closed; i++) {
        if (holdAfter !== null && i === holdAfter) await new Promise((r) => releaseWaiters.push(r));
        else if (intervalMs > 0 && i > 0) await new Promise((r) => setTimeout(r, intervalMs));
        if (closed) break;
        send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: pieces[i] } });
        sentPieces++;
        onSent?.(requestNo, i, process.hrtime.bigint());
      }
      if (closed) return;
      send('content_block_stop', { type: 'content_block_stop', index: 0 });
      send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: pieces.length } });
      send('message_stop', { type: 'message_stop' });
      res.end();
    };
    // A fault in the fake (a bad request body, a throwing `reply`) breaks the connection, which the
    // client under test sees, rather than going unnoticed.
    req.on('end', () => void answer().catch((err) => res.destroy(err)));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(null)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get sentPieces() {
      return sentPieces;
    },
    release() {
      const w = releaseWaiters;
      releaseWaiters = [];
      w.forEach((r) => r());
    },
    async stop() {
      this.release();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}
