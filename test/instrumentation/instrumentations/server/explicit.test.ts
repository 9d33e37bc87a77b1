/**
 * A server that records its requests itself (startServerRequest) while the zero-code
 * instrumentation is on: each request is recorded once, by the app; the zero-code record steps
 * aside, before and after the link's AsyncLocalStorage is switched on.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelOpenRequests, InferenceServerInstrumentation, startServerRequest } from '../../../../packages/instrumentation/src/index.js';
import { resetLinkForTests } from '../../../../packages/instrumentation/src/instrumentations/server/claim.js';
import { ATTR, SERVER_METRIC } from '../../../../packages/instrumentation/src/semconv.js';
import { createTestMetrics, sleep, type TestMetrics } from '../../../helpers/metrics.js';

const M = SERVER_METRIC;
let t: TestMetrics;
let instrumentation: InferenceServerInstrumentation;
let server: http.Server;

beforeEach(() => {
  cancelOpenRequests();
  resetLinkForTests();
  t = createTestMetrics();
  instrumentation = new InferenceServerInstrumentation({ enabled: false });
  instrumentation.setMeterProvider(t.provider);
  instrumentation.enable();
});
afterEach(async () => {
  instrumentation.disable();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.shutdown();
});

/** The explicit API's model server: reads the body, then records the request itself. */
async function explicit(req: IncomingMessage, res: ServerResponse, sync = false): Promise<void> {
  const request = sync ? startServerRequest({ provider: 'llama_cpp', meterProvider: t.provider }) : undefined;
  let body = '';
  for await (const chunk of req) body += chunk;
  await sleep(10);
  const served = request ?? startServerRequest({ provider: 'llama_cpp', requestModel: JSON.parse(body).model, meterProvider: t.provider });
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  served.firstToken();
  served.tokens(1);
  res.write(`data: ${JSON.stringify({ model: 'x', choices: [{ index: 0, delta: { content: 'a' } }] })}\n\n`);
  served.end();
  res.end('data: [DONE]\n\n');
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<string> {
  server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const post = (url: string, model = 'm') => fetch(url, { method: 'POST', body: JSON.stringify({ model }) }).then((r) => r.text());

async function providers(): Promise<Record<string, number>> {
  const c = await t.collect();
  expect(c.total(M.activeRequests)).toBe(0);
  const out: Record<string, number> = {};
  for (const p of c.sums(M.requests)) {
    const key = String(p.attributes[ATTR.providerName]);
    out[key] = (out[key] ?? 0) + p.value;
  }
  return out;
}

describe('the app records a request itself', () => {
  it('asynchronously (after reading the body): once, by the app, from the first request on', async () => {
    const url = await serve((req, res) => explicit(req, res));
    await post(`${url}/v1/chat/completions`);
    await Promise.all(Array.from({ length: 10 }, (_, i) => post(`${url}/v1/chat/completions`, `m${i}`)));
    expect(await providers()).toEqual({ llama_cpp: 11 });
  });

  it("reading the body in req.on('data'/'end') callbacks (outside the listener's async context): once, by the app", async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        const served = startServerRequest({ provider: 'llama_cpp', requestModel: JSON.parse(body).model, meterProvider: t.provider });
        res.writeHead(200, { 'content-type': 'application/json' });
        served.end({ usage: { inputTokens: 1, outputTokens: 1 } });
        res.end(JSON.stringify({ model: 'x', choices: [] }));
      });
    });
    await post(`${url}/v1/chat/completions`);
    for (let i = 0; i < 3; i++) await Promise.all(Array.from({ length: 4 }, (_, k) => post(`${url}/v1/chat/completions`, `m${k}`)));
    expect(await providers()).toEqual({ llama_cpp: 13 });
  });

  it('several in flight before the link is on: each zero-code record steps aside', async () => {
    const url = await serve((req, res) => explicit(req, res));
    await Promise.all(Array.from({ length: 5 }, () => post(`${url}/v1/chat/completions`)));
    expect(await providers()).toEqual({ llama_cpp: 5 });
  });

  it('synchronously in the listener: once, by the app', async () => {
    const url = await serve((req, res) => explicit(req, res, true));
    for (let i = 0; i < 3; i++) await post(`${url}/v1/chat/completions`);
    expect(await providers()).toEqual({ llama_cpp: 3 });
  });

  it('beside a route it does not record itself: that one stays zero-code', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/v1/embeddings') {
        req.resume();
        return void setTimeout(() => res.end('{"model":"e"}'), 15);
      }
      return explicit(req, res);
    });
    await post(`${url}/v1/chat/completions`);
    await Promise.all([
      ...Array.from({ length: 4 }, () => post(`${url}/v1/chat/completions`)),
      ...Array.from({ length: 4 }, () => post(`${url}/v1/embeddings`)),
    ]);
    expect(await providers()).toEqual({ llama_cpp: 5, openai_compatible: 4 });
  });
});
