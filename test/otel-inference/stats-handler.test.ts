/**
 * statsHandler(): the /v1/stats document served by a real node:http server and a real Express
 * app, from a reader of the app's own; the answers when there is nothing to read, a method that is
 * not GET or HEAD, a collection that fails, a caller that goes away. Each document is validated
 * against packages/otel-inference/stats.schema.json.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiagLogLevel } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { ATTR, METER_NAME, OUTCOME, SERVER_INSTRUMENT } from '../../packages/instrumentation/src/semconv.js';
import { createInferenceMetrics, type InferenceStats } from '../../packages/instrumentation/src/index.js';
import { statsHandler, type StatsRequestHandler } from '../../packages/otel-inference/src/stats.js';
import { captureDiag } from '../helpers/metrics.js';
import { validateStats } from '../helpers/stats-schema.js';

class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('otel-inference.register')];
});

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = http.createServer(handler);
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function ask(port: number, method = 'GET', path = '/v1/stats', headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject).end();
  });
}

/** A MeterProvider with a pull reader, and some recorded requests: 3 of model-a (one failed), one served. */
async function recorded() {
  const reader = new PullReader();
  const provider = new MeterProvider({ readers: [reader] });
  closers.push(() => provider.shutdown());
  const metrics = createInferenceMetrics({ meterProvider: provider });
  for (let i = 0; i < 3; i++) {
    const t = metrics.startRequest({ provider: 'vllm', model: 'model-a' }, { stream: true });
    t.output();
    t.output();
    if (i === 2) t.fail(Object.assign(new Error('upstream'), { status: 502 }));
    else t.end({ usage: { inputTokens: 5, outputTokens: 2 } });
  }
  provider
    .getMeter(METER_NAME)
    .createCounter(SERVER_INSTRUMENT.requests.name)
    .add(1, { [ATTR.requestModel]: 'model-a', [ATTR.outcome]: OUTCOME.success });
  return reader;
}

function parse(answer: Answer): InferenceStats {
  expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(answer.headers['cache-control']).toBe('no-store');
  expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
  const doc = JSON.parse(answer.body) as InferenceStats;
  expect(validateStats(doc)).toEqual([]);
  return doc;
}

describe('statsHandler() on node:http', () => {
  it('GET answers the document; HEAD its headers alone; other methods 405 with Allow', async () => {
    const reader = await recorded();
    const port = await listen(statsHandler({ reader }));
    const answer = await ask(port, 'GET', '/v1/stats', { authorization: 'Bearer sk-secret-value', cookie: 'session=secret-cookie' });
    expect(answer.status).toBe(200);
    const doc = parse(answer);
    const a = doc.models.find((m) => m.model === 'model-a')!;
    expect(a.client!.lifetime.requests).toEqual({ total: 3, success: 2, error: 1, cancelled: 0 });
    expect(a.client!.lifetime.tokens).toEqual({ input: 10, output: 4 });
    expect(a.client!.lifetime.ttft_s.count).toBe(3);
    expect(a.server!.lifetime.requests.total).toBe(1);
    // Nothing of the request reaches the answer.
    expect(answer.body).not.toMatch(/secret/);

    const head = await ask(port, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['content-type']).toBe('application/json; charset=utf-8');

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const answer = await ask(port, method);
      expect(answer.status, method).toBe(405);
      expect(answer.headers.allow).toBe('GET, HEAD');
      expect(JSON.parse(answer.body)).toEqual({ error: 'method not allowed: GET or HEAD' });
    }
  });

  it('a second read has a window since the first: one handler keeps its ring of snapshots', async () => {
    const reader = await recorded();
    const handler = statsHandler({ reader, windowSeconds: 0.05 });
    const port = await listen(handler);
    const first = parse(await ask(port));
    expect(first.window).toMatchObject({ target_s: 0.05, seconds: 0, complete: false });
    await new Promise((r) => setTimeout(r, 80));
    const second = parse(await ask(port));
    expect(second.window.complete).toBe(true);
    expect(second.window.seconds).toBeGreaterThanOrEqual(0.05);
    // Nothing recorded in between.
    expect(second.models[0]!.client!.window.requests.total).toBe(0);
    expect(second.models[0]!.client!.lifetime.requests.total).toBe(3);
  });

  it('a collection that fails, throws or reports errors answers 500 JSON, logs once, and the next request is served', async () => {
    const diag = captureDiag(DiagLogLevel.ERROR);
    try {
      const good = await recorded();
      let mode: 'reject' | 'throw' | 'errors' | 'ok' = 'reject';
      const reader = {
        collect() {
          if (mode === 'throw') throw new Error('sync failure');
          if (mode === 'reject') return Promise.reject(new Error('async failure'));
          if (mode === 'errors') return good.collect().then((r) => ({ ...r, errors: [new Error('a producer failed')] }));
          return good.collect();
        },
      };
      const port = await listen(statsHandler({ reader }));
      for (const m of ['reject', 'throw', 'errors'] as const) {
        mode = m;
        const answer = await ask(port);
        expect(answer.status, m).toBe(500);
        expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(JSON.parse(answer.body)).toEqual({ error: 'the metrics collection failed' });
      }
      mode = 'ok';
      expect((await ask(port)).status).toBe(200);
      const ours = diag.lines.error.filter((l) => l.includes('/v1/stats'));
      expect(ours).toHaveLength(1);
      expect(ours[0]).toMatch(/could not collect the metrics \(Error: async failure\)/);
    } finally {
      diag.stop();
    }
  });

  it('a caller that leaves before the collection ends: nothing thrown, nothing rejected, the server goes on', async () => {
    const good = await recorded();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let collections = 0;
    const reader = {
      async collect() {
        collections++;
        if (collections === 1) await gate;
        return good.collect();
      },
    };
    const port = await listen(statsHandler({ reader }));
    await new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/stats', agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect((await ask(port)).status).toBe(200);
  });
});

describe('statsHandler() in Express', () => {
  it('app.get(path, statsHandler()) answers the document; app.all lets the handler answer 405', async () => {
    const reader = await recorded();
    const app = express();
    app.get('/v1/stats', statsHandler({ reader }));
    app.all('/other/stats', statsHandler({ reader }));
    app.get('/', (_req, res) => {
      res.send('app');
    });
    const port = await listen(app);
    const answer = await ask(port);
    expect(answer.status).toBe(200);
    expect(parse(answer).models[0]!.client!.lifetime.requests.total).toBe(3);
    expect((await ask(port, 'GET', '/v1/stats?x=1')).status).toBe(200);
    expect((await ask(port, 'POST', '/other/stats')).status).toBe(405);
    expect((await ask(port, 'GET', '/')).body).toBe('app');
  });
});

describe('statsHandler() without a reader of its own: register\'s, or 503 with the reason', () => {
  const KEY = Symbol.for('otel-inference.register');
  const cases: [string, unknown, RegExp][] = [
    ['register not loaded', undefined, /otel-inference\/register is not loaded/],
    ['register skipped', { skipped: 'OTEL_SDK_DISABLED', instrumentations: [] }, /started nothing \(OTEL_SDK_DISABLED\)/],
    ["the app's MeterProvider", { instrumentations: [] }, /records into the app's MeterProvider/],
    ['OTLP alone', { meterProvider: {}, instrumentations: [] }, /OTEL_INFERENCE_IN_PROCESS_READER=true/],
  ];
  for (const [name, state, reason] of cases) {
    it(name, async () => {
      if (state !== undefined) (globalThis as Record<symbol, unknown>)[KEY] = state;
      const port = await listen(statsHandler());
      const answer = await ask(port);
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body).error).toMatch(reason);
    });
  }

  it("register's source, looked up per request (register may load after the handler is made)", async () => {
    const handler: StatsRequestHandler = statsHandler();
    const port = await listen(handler);
    expect((await ask(port)).status).toBe(503);
    const { createStatsSource } = await import('../../packages/instrumentation/src/index.js');
    const reader = await recorded();
    (globalThis as Record<symbol, unknown>)[KEY] = { meterProvider: {}, instrumentations: [], stats: createStatsSource({ collect: () => reader.collect(), startedEmpty: true }) };
    const doc = parse(await ask(port));
    expect(doc.models[0]!.client!.lifetime.requests.total).toBe(3);
    // Started empty: the window reaches back to the source's start.
    expect(doc.models[0]!.client!.window.requests.total).toBe(3);
  });
});
