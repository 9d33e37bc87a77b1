/**
 * The docs' model-server loop (docs/serving.md, "The explicit API") on a real node:http server with
 * one decode slot, a simulated model (prefill 30 ms, a token every 10 ms) and real fetch clients:
 * two requests at once (the second waits for the slot), and one its caller aborts mid-stream.
 */
import http, { type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelOpenRequests, PHASE, startServerRequest } from '../../../packages/instrumentation/src/index.js';
import { ATTR, SERVER_METRIC as M } from '../../../packages/instrumentation/src/semconv.js';
import { createTestMetrics, sleep, type TestMetrics } from '../../helpers/metrics.js';

const PREFILL_MS = 30;
const TOKEN_MS = 10;
const TOKENS = 5;

let t: TestMetrics;
let server: http.Server;
let url: string;

/** One slot: a second request waits until the first releases it. */
class Slots {
  private busy = false;
  private readonly waiters: (() => void)[] = [];
  async acquire(): Promise<void> {
    if (!this.busy) {
      this.busy = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.busy = false;
  }
}

const model = {
  name: 'sim-7b',
  async prefill(_prompt: number[]): Promise<void> {
    await sleep(PREFILL_MS);
  },
  async *decode(signal: AbortSignal): AsyncGenerator<string> {
    for (let i = 0; i < TOKENS; i++) {
      await sleep(TOKEN_MS);
      signal.throwIfAborted();
      yield `t${i}`;
    }
  },
};

async function serve(body: { model: string; stream?: boolean }, res: ServerResponse, signal: AbortSignal, slots: Slots) {
  using req = startServerRequest({
    provider: 'sim_server',
    requestModel: body.model,
    stream: body.stream === true,
    serverPort: (server.address() as AddressInfo).port,
    queued: true,
    meterProvider: t.provider,
  });
  signal.addEventListener('abort', () => req.cancel());
  await slots.acquire();
  try {
    req.admitted();
    let prompt: number[];
    {
      using _ = req.phase(PHASE.tokenize);
      prompt = [1, 2, 3];
    }
    req.tokens(prompt.length, 'input');
    {
      using _ = req.phase(PHASE.prefill);
      await model.prefill(prompt);
    }
    {
      using _ = req.phase(PHASE.decode);
      for await (const token of model.decode(signal)) {
        req.firstToken();
        req.tokens(1);
        res.write(`data: ${JSON.stringify({ token })}\n\n`);
      }
    }
    req.end({ responseModel: model.name });
    res.end('data: [DONE]\n\n');
  } catch (error) {
    req.fail(error);
    res.destroy();
  } finally {
    slots.release();
  }
}

beforeEach(async () => {
  cancelOpenRequests();
  t = createTestMetrics();
  const slots = new Slots();
  server = http.createServer((request, res) => {
    let raw = '';
    request.setEncoding('utf8').on('data', (d: string) => (raw += d));
    request.on('end', () => {
      const controller = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) controller.abort();
      });
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      void serve(JSON.parse(raw), res, controller.signal, slots);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.shutdown();
});

const post = (signal?: AbortSignal) =>
  fetch(url, { method: 'POST', body: JSON.stringify({ model: 'sim-7b', stream: true }), ...(signal ? { signal } : {}) });

describe('the docs’ model server loop on node:http', () => {
  it('two requests for one slot: the second waits for the first; values match the simulated delays', async () => {
    const started = performance.now();
    const [a, b] = await Promise.all([post().then((r) => r.text()), post().then((r) => r.text())]);
    const elapsed = (performance.now() - started) / 1000;
    expect(a.match(/"token"/g)).toHaveLength(TOKENS);
    expect(b.match(/"token"/g)).toHaveLength(TOKENS);

    const c = await t.collect();
    expect(c.total(M.requests, { [ATTR.outcome]: 'success', [ATTR.responseModel]: 'sim-7b' })).toBe(2);
    expect(c.total(M.activeRequests)).toBe(0);
    expect(c.total(M.waitingRequests)).toBe(0);

    const serving = (PREFILL_MS + TOKENS * TOKEN_MS) / 1000;
    const queue = c.histogram(M.queueDuration);
    expect(queue.count).toBe(2);
    // One went straight in (its wait is scheduling only: bounded by half a service, not by a
    // wall-clock guess a busy machine can exceed); the other waited for the whole of the first one's service.
    expect(queue.min!).toBeLessThan(serving / 2);
    expect(queue.max!).toBeGreaterThanOrEqual(serving - 0.002);
    expect(queue.max!).toBeLessThan(elapsed);

    const prefill = c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.prefill });
    expect(prefill.count).toBe(2);
    expect(prefill.min!).toBeGreaterThanOrEqual(PREFILL_MS / 1000 - 0.002);
    const decode = c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.decode });
    expect(decode.min!).toBeGreaterThanOrEqual((TOKENS * TOKEN_MS) / 1000 - 0.002);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.tokenize }).count).toBe(2);

    const ttft = c.histogram(M.timeToFirstToken);
    expect(ttft.count).toBe(2);
    expect(ttft.min!).toBeGreaterThanOrEqual((PREFILL_MS + TOKEN_MS) / 1000 - 0.002);
    const tpot = c.histogram(M.timePerOutputToken);
    expect(tpot.count).toBe(2);
    // (duration − TTFT) / 4: four token gaps of ≥ 10 ms.
    expect(tpot.min!).toBeGreaterThanOrEqual(TOKEN_MS / 1000 - 0.002);
    const duration = c.histogram(M.requestDuration);
    expect(duration.max!).toBeLessThan(elapsed);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(2 * TOKENS);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'input' })).toBe(6);
  });

  it('a caller that aborts mid-stream: cancelled, the open decode phase ended with it, the gauges at 0', async () => {
    const controller = new AbortController();
    const response = await post(controller.signal);
    const reader = response.body!.getReader();
    await reader.read(); // the first token
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
    // The server sees the close, aborts its decode loop, and the request ends.
    for (let i = 0; i < 100 && (await t.collect()).total(M.requests) === 0; i++) await sleep(10);

    const c = await t.collect();
    expect(c.sums(M.requests).map((p) => [p.attributes[ATTR.outcome], p.attributes[ATTR.errorType], p.value])).toEqual([
      ['cancelled', undefined, 1],
    ]);
    expect(c.total(M.activeRequests)).toBe(0);
    expect(c.total(M.waitingRequests)).toBe(0);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.decode }).count).toBe(1);
    expect(c.metric(M.timeToFirstToken)).toBeUndefined();
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBeGreaterThanOrEqual(1);
  });
});
