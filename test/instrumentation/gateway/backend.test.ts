/**
 * `inference.backend` on the client-side series: from the enclosing withBackend (an
 * AsyncLocalStorage context) or given explicitly; bounded like models.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DiagLogLevel } from '@opentelemetry/api';
import OpenAI from 'openai';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { currentBackend, instrumentOpenAI, withBackend } from '../../../packages/instrumentation/src/index.js';
import { resetBackendLabels } from '../../../packages/instrumentation/src/gateway/backend.js';
import { MAX_BACKENDS, MAX_LABEL_LENGTH, MAX_MODELS } from '../../../packages/instrumentation/src/core/labels.js';
import { ATTR, METRIC, OTHER_BACKEND, OTHER_MODEL } from '../../../packages/instrumentation/src/semconv.js';
import { client, sim } from '../../helpers/openai.js';
import { captureDiag, createTestMetrics, drain, sleep, type Collected, type TestMetrics } from '../../helpers/metrics.js';

let server: SimServer;
let t: TestMetrics;
let uninstall: (() => void) | undefined;

beforeAll(async () => {
  server = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  t = createTestMetrics();
  resetBackendLabels();
});
afterEach(async () => {
  uninstall?.();
  uninstall = undefined;
  await t.shutdown();
});

/** Every data point of every client metric, as [metric, backend attribute]. */
function backendsByMetric(c: Collected): Array<[string, unknown]> {
  return c.metrics.flatMap((m) => m.dataPoints.map((d): [string, unknown] => [m.descriptor.name, d.attributes[ATTR.backend]]));
}

const usage = { usage: { inputTokens: 3, outputTokens: 4 } };

describe('withBackend', () => {
  it('puts the backend on every client-side series of requests started inside, and on none outside', async () => {
    await withBackend('primary', async () => {
      const tracker = t.metrics.startRequest({ provider: 'p', model: 'm' }, { stream: true });
      tracker.output();
      await sleep(5);
      tracker.output();
      tracker.end(usage);
      await t.metrics.instrumentCall({ provider: 'p', model: 'm' }, async () => ({ model: 'm' }));
    });
    const outside = t.metrics.startRequest({ provider: 'p', model: 'm' }, { stream: true });
    outside.output();
    outside.output();
    outside.end(usage);

    const c = await t.collect();
    const points = backendsByMetric(c);
    // Both requests went through every instrument: each metric has a point with and one without.
    expect(new Set(points.map(([name]) => name)).size).toBe(Object.keys(METRIC).length);
    for (const name of Object.values(METRIC)) {
      expect(points.filter(([n, b]) => n === name && b === 'primary').length, name).toBeGreaterThan(0);
      expect(points.filter(([n, b]) => n === name && b === undefined).length, name).toBeGreaterThan(0);
    }
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'primary' })).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.backend]: undefined })).toBe(1);
    // The active gauge's +1 and -1 carry the same attributes: back to 0 on every series
    // (primary streamed, primary not, and no backend).
    expect(c.sums(METRIC.activeRequests).map((p) => [p.attributes[ATTR.backend], p.value])).toEqual([
      ['primary', 0],
      ['primary', 0],
      [undefined, 0],
    ]);
  });

  it('returns exactly what fn returns and throws exactly what it throws', async () => {
    const value = { id: 1 };
    const promise = Promise.resolve(value);
    expect(withBackend('a', () => value)).toBe(value);
    expect(withBackend('a', () => promise)).toBe(promise);
    const error = new Error('boom');
    expect(() =>
      withBackend('a', () => {
        throw error;
      }),
    ).toThrow(error);
    await expect(withBackend('a', () => Promise.reject(error))).rejects.toBe(error);
  });

  it('scopes the name: nested contexts win, and nothing is set outside', async () => {
    expect(currentBackend()).toBeUndefined();
    await withBackend('outer', async () => {
      expect(currentBackend()).toBe('outer');
      await withBackend('inner', async () => {
        await sleep(1);
        expect(currentBackend()).toBe('inner');
      });
      await sleep(1);
      expect(currentBackend()).toBe('outer');
    });
    expect(currentBackend()).toBeUndefined();
  });

  it('does not leak between concurrent contexts whose awaits interleave', async () => {
    const order: string[] = [];
    // Each worker starts a request after every await; their timers interleave a, b, a, b...
    const worker = (backend: string, offset: number) =>
      withBackend(backend, async () => {
        await sleep(offset);
        for (let i = 0; i < 5; i++) {
          const tracker = t.metrics.startRequest({ provider: 'p', model: 'm' });
          order.push(backend);
          await sleep(10);
          tracker.end();
        }
      });
    const plain = (async () => {
      await sleep(3);
      for (let i = 0; i < 5; i++) {
        t.metrics.startRequest({ provider: 'p', model: 'm' }).end();
        order.push('none');
        await sleep(10);
      }
    })();
    await Promise.all([worker('a', 0), worker('b', 5), plain]);
    // The workers did interleave.
    expect(order.slice(0, 6)).toEqual(['a', 'none', 'b', 'a', 'none', 'b']);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'a' })).toBe(5);
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'b' })).toBe(5);
    expect(c.total(METRIC.requests, { [ATTR.backend]: undefined })).toBe(5);
  });

  it('an explicit InferenceRequest.backend wins over the context', async () => {
    withBackend('context', () => {
      t.metrics.startRequest({ provider: 'p', backend: 'explicit' }).end();
      t.metrics.startRequest({ provider: 'p' }).end();
    });
    t.metrics.startRequest({ provider: 'p', backend: 'explicit' }).end();
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'explicit' })).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'context' })).toBe(1);
  });

  it('reaches the openai instrumentation: calls and streams made inside carry the backend', async () => {
    uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics });
    const openai = client(OpenAI, server.url);
    const params = { model: 'sim-model', messages: [{ role: 'user' as const, content: 'hi' }] };
    const completion = await withBackend('sim', () => openai.chat.completions.create(params, sim({ ttftMs: 5 })));
    expect(completion.choices[0]!.message.content).toBeTypeOf('string');
    // The stream is created inside and consumed outside: the request belongs to where it started.
    const stream = await withBackend('sim', () => openai.chat.completions.create({ ...params, stream: true }, sim({ chunks: 3 })));
    expect(await drain(stream)).not.toHaveLength(0);
    await openai.chat.completions.create(params);
    await sleep(0);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'sim', [ATTR.requestStream]: false, [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'sim', [ATTR.requestStream]: true, [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.backend]: undefined })).toBe(1);
    expect(c.histogram(METRIC.timeToFirstChunk, { [ATTR.backend]: 'sim' }).count).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.backend]: 'sim' }).count).toBe(2);
  });
});

describe('label hygiene', () => {
  it('keeps a clean backend name as given, and records any other as other', async () => {
    const names = ['vllm-a100', 'ollama.local:11434', 'a'.repeat(MAX_LABEL_LENGTH)];
    const unclean = ['', 'a'.repeat(MAX_LABEL_LENGTH + 1), 'line\nbreak', 'tab\there', 'nul\u0000', 'lone \ud800 surrogate', 42 as unknown as string];
    for (const name of [...names, ...unclean]) withBackend(name, () => t.metrics.startRequest({ provider: 'p' }).end());
    t.metrics.startRequest({ provider: 'p', backend: 'bad\u0007' }).end();
    withBackend('emoji 🚀 ok', () => t.metrics.startRequest({ provider: 'p' }).end());
    const c = await t.collect();
    for (const name of names) expect(c.total(METRIC.requests, { [ATTR.backend]: name }), name).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'emoji 🚀 ok' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.backend]: OTHER_BACKEND })).toBe(unclean.length + 1);
  });

  it(`keeps the first ${MAX_BACKENDS} distinct backend names, records later new ones as other, and says so once`, async () => {
    const diagnostics = captureDiag(DiagLogLevel.WARN);
    try {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < MAX_BACKENDS + 3; i++) t.metrics.startRequest({ provider: 'p', backend: `b${i}` }).end();
      }
    } finally {
      diagnostics.stop();
    }
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.backend]: `b${MAX_BACKENDS - 1}` })).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.backend]: `b${MAX_BACKENDS}` })).toBe(0);
    expect(c.total(METRIC.requests, { [ATTR.backend]: OTHER_BACKEND })).toBe(6);
    expect(new Set(c.sums(METRIC.requests).map((p) => p.attributes[ATTR.backend])).size).toBe(MAX_BACKENDS + 1);
    expect(diagnostics.ours('warn').filter((l) => l.includes(ATTR.backend))).toEqual([
      `otel-inference: more than ${MAX_BACKENDS} distinct ${ATTR.backend} values; later new ones are recorded as "other"`,
    ]);
  });

  it(`keeps the first ${MAX_MODELS} distinct models when there is no allowlist, and only clean ones`, async () => {
    const diagnostics = captureDiag(DiagLogLevel.WARN);
    try {
      for (let i = 0; i < MAX_MODELS + 5; i++) {
        const tracker = t.metrics.startRequest({ provider: 'p', model: `m${i}` });
        tracker.setResponseModel(`m${i}`);
        tracker.end();
      }
      t.metrics.startRequest({ provider: 'p', model: 'm0\n' }).end();
      t.metrics.startRequest({ provider: 'p', model: 'm0' }).end();
    } finally {
      diagnostics.stop();
    }
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'm0', [ATTR.responseModel]: 'm0' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'm0', [ATTR.responseModel]: undefined })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: `m${MAX_MODELS - 1}` })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: OTHER_MODEL, [ATTR.responseModel]: OTHER_MODEL })).toBe(5);
    expect(c.total(METRIC.requests, { [ATTR.requestModel]: OTHER_MODEL, [ATTR.responseModel]: undefined })).toBe(1);
    expect(diagnostics.ours('warn').filter((l) => l.includes(ATTR.requestModel))).toHaveLength(1);
  });

  it('with an allowlist, the allowlist is the bound: every allowed model is kept, clean ones only', async () => {
    const m = createTestMetrics({ modelAllowlist: [/^ft-/, 'exact'] });
    try {
      for (let i = 0; i < MAX_MODELS + 5; i++) m.metrics.startRequest({ provider: 'p', model: `ft-${i}` }).end();
      m.metrics.startRequest({ provider: 'p', model: 'exact' }).end();
      m.metrics.startRequest({ provider: 'p', model: 'gpt-4o' }).end();
      m.metrics.startRequest({ provider: 'p', model: 'ft-\u0000' }).end();
      const c = await m.collect();
      expect(c.total(METRIC.requests, { [ATTR.requestModel]: `ft-${MAX_MODELS + 4}` })).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.requestModel]: 'exact' })).toBe(1);
      expect(c.total(METRIC.requests, { [ATTR.requestModel]: OTHER_MODEL })).toBe(2);
    } finally {
      await m.shutdown();
    }
  });
});
