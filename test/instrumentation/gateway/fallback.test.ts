/**
 * withFallback and recordFallback: `inference.fallbacks` {from, to, reason}, the value and the
 * error passed through unchanged, the caller's abort never retried. The backends are real sim
 * servers behind the real openai client.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiagLogLevel } from '@opentelemetry/api';
import OpenAI from 'openai';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { instrumentOpenAI, recordFallback, withFallback } from '../../../packages/instrumentation/src/index.js';
import { resetBackendLabels } from '../../../packages/instrumentation/src/gateway/backend.js';
import { ATTR, ERROR_TYPE, GATEWAY_METRIC, METRIC, OTHER_BACKEND } from '../../../packages/instrumentation/src/semconv.js';
import { client, sim } from '../../helpers/openai.js';
import { captureDiag, createTestMetrics, drain, sleep, type TestMetrics } from '../../helpers/metrics.js';

let fast: SimServer;
let slow: SimServer;
let t: TestMetrics;
let uninstall: (() => void) | undefined;

beforeAll(async () => {
  [fast, slow] = await Promise.all([startSimServer({ port: 0 }), startSimServer({ port: 0, ttftMs: 20 })]);
});
afterAll(async () => {
  await Promise.all([fast.close(), slow.close()]);
});
beforeEach(() => {
  t = createTestMetrics();
  resetBackendLabels();
  uninstall = instrumentOpenAI(OpenAI, { metrics: t.metrics });
});
afterEach(async () => {
  uninstall?.();
  uninstall = undefined;
  await t.shutdown();
});

const params = { model: 'sim-model', messages: [{ role: 'user' as const, content: 'hi' }] };
const fallbacks = (c: Awaited<ReturnType<TestMetrics['collect']>>) =>
  c.sums(GATEWAY_METRIC.fallbacks).map((p) => [p.attributes[ATTR.fallbackFrom], p.attributes[ATTR.fallbackTo], p.attributes[ATTR.fallbackReason], p.value]);

/** Two backends: `a` answers with `status` (if given), `b` succeeds. */
function backends(statusOfA?: number) {
  return [
    { name: 'a', openai: client(OpenAI, fast.url), options: statusOfA === undefined ? {} : sim({ status: statusOfA }) },
    { name: 'b', openai: client(OpenAI, slow.url), options: {} },
  ];
}

describe('withFallback', () => {
  it('returns the first success as it is, and counts no fallback', async () => {
    const seen: Array<[string, number]> = [];
    let completion: unknown;
    const result = await withFallback(
      backends(),
      async (backend, attempt) => {
        seen.push([backend.name, attempt]);
        completion = await backend.openai.chat.completions.create(params, backend.options);
        return completion;
      },
      { meterProvider: t.provider },
    );
    expect(result).toBe(completion);
    expect(seen).toEqual([['a', 0]]);
    await sleep(0);
    const c = await t.collect();
    expect(c.metric(GATEWAY_METRIC.fallbacks)).toBeUndefined();
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'a', [ATTR.outcome]: 'success' })).toBe(1);
  });

  it('moves on after a failure: counts from, to and the error.type, and returns the next success as it is', async () => {
    let completion: unknown;
    const result = await withFallback(
      backends(503),
      async (backend) => {
        completion = await backend.openai.chat.completions.create(params, backend.options);
        return completion;
      },
      { meterProvider: t.provider },
    );
    expect(result).toBe(completion);
    await sleep(0);
    const c = await t.collect();
    expect(fallbacks(c)).toEqual([['a', 'b', '503', 1]]);
    // Each attempt is its own client-side request, on its own backend.
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'a', [ATTR.outcome]: 'error', [ATTR.errorType]: '503' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'b', [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.requests)).toBe(2);
  });

  it('falls back for streams that fail to open, and the stream returned is the caller\'s to read', async () => {
    const stream = await withFallback(
      backends(500),
      (backend) => backend.openai.chat.completions.create({ ...params, stream: true }, { ...backend.options, ...sim({ chunks: 4, ...(backend.name === 'a' ? { status: 500 } : {}) }) }),
      { meterProvider: t.provider },
    );
    const chunks = await drain(stream);
    expect(chunks.filter((chunk) => chunk.choices[0]?.delta.content)).toHaveLength(4);
    await sleep(0);
    const c = await t.collect();
    expect(fallbacks(c)).toEqual([['a', 'b', '500', 1]]);
    expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.backend]: 'b' }).count).toBe(3);
    expect(c.histogram(METRIC.timeToFirstChunk, { [ATTR.backend]: 'b' }).sum).toBeGreaterThanOrEqual(0.018);
  });

  it('rejects with the last error itself when every backend fails, after counting each move', async () => {
    const errors: unknown[] = [];
    const names = ['a', 'b', 'c'];
    const promise = withFallback(
      names,
      async (name) => {
        const error = name === 'b' ? new TypeError('not an API error') : Object.assign(new Error(`down ${name}`), { status: name === 'a' ? 429 : 502 });
        errors.push(error);
        throw error;
      },
      { meterProvider: t.provider },
    );
    const caught = await promise.catch((error: unknown) => error);
    expect(errors).toHaveLength(3);
    expect(caught).toBe(errors[2]);
    const c = await t.collect();
    expect(fallbacks(c)).toEqual([
      ['a', 'b', '429', 1],
      ['b', 'c', 'TypeError', 1],
    ]);
  });

  it('treats a synchronous throw like a rejection', async () => {
    const result = await withFallback(
      ['x', 'y'],
      (name) => {
        if (name === 'x') throw Object.assign(new Error('refused'), { code: 'ETIMEDOUT' });
        return 'from y';
      },
      { meterProvider: t.provider },
    );
    expect(result).toBe('from y');
    expect(fallbacks(await t.collect())).toEqual([['x', 'y', ERROR_TYPE.timeout, 1]]);
  });

  it('never retries the caller\'s abort: the abort error comes back as it is, the next backend is not called', async () => {
    const controller = new AbortController();
    const call = vi.fn(async (backend: ReturnType<typeof backends>[number]) => {
      const pending = backend.openai.chat.completions.create(params, { ...sim({ headerDelayMs: 500 }), signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      return pending;
    });
    let caught: unknown;
    await withFallback(backends(), call, { meterProvider: t.provider }).catch((error: unknown) => {
      caught = error;
    });
    expect(caught).toBeInstanceOf(OpenAI.APIUserAbortError);
    expect(call).toHaveBeenCalledTimes(1);
    await sleep(0);
    const c = await t.collect();
    expect(c.metric(GATEWAY_METRIC.fallbacks)).toBeUndefined();
    expect(c.total(METRIC.requests, { [ATTR.backend]: 'a', [ATTR.outcome]: 'cancelled' })).toBe(1);
  });

  it('stops once the signal given is aborted, whatever the error', async () => {
    const controller = new AbortController();
    const error = new Error('failed while the caller left');
    const call = vi.fn(async () => {
      controller.abort();
      throw error;
    });
    await expect(withFallback(['a', 'b'], call, { signal: controller.signal, meterProvider: t.provider })).rejects.toBe(error);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('asks shouldFallback, with the error, the backend name and the attempt; false or a throw stops with the error', async () => {
    const asked: unknown[][] = [];
    const e400 = Object.assign(new Error('bad request'), { status: 400 });
    const e503 = Object.assign(new Error('unavailable'), { status: 503 });
    const shouldFallback = (error: unknown, backend: string, attempt: number) => {
      asked.push([error, backend, attempt]);
      return (error as { status: number }).status >= 500;
    };
    const failWith = (errors: Record<string, Error>) => async (name: string) => {
      if (errors[name] !== undefined) throw errors[name];
      return name;
    };
    await expect(withFallback(['a', 'b', 'c'], failWith({ a: e503, b: e503 }), { shouldFallback, meterProvider: t.provider })).resolves.toBe('c');
    expect(asked).toEqual([
      [e503, 'a', 0],
      [e503, 'b', 1],
    ]);
    await expect(withFallback(['a', 'b'], failWith({ a: e400 }), { shouldFallback, meterProvider: t.provider })).rejects.toBe(e400);

    const diagnostics = captureDiag(DiagLogLevel.WARN);
    try {
      const broken = () => {
        throw new Error('bug in the predicate');
      };
      await expect(withFallback(['a', 'b'], failWith({ a: e503 }), { shouldFallback: broken, meterProvider: t.provider })).rejects.toBe(e503);
      expect(diagnostics.ours('warn')).toEqual(['otel-inference: withFallback: shouldFallback threw; not falling back']);
    } finally {
      diagnostics.stop();
    }
    expect(fallbacks(await t.collect())).toEqual([
      ['a', 'b', '503', 1],
      ['b', 'c', '503', 1],
    ]);
  });

  it('rejects an empty list with a TypeError', async () => {
    await expect(withFallback([], () => 1)).rejects.toBeInstanceOf(TypeError);
  });

  it('bounds backend names in the counter as on the client series', async () => {
    await withFallback(['bad\nname', 'b'], (name) => {
      if (name !== 'b') throw new Error('x');
      return name;
    }, { meterProvider: t.provider });
    expect(fallbacks(await t.collect())).toEqual([[OTHER_BACKEND, 'b', 'Error', 1]]);
  });
});

describe('recordFallback', () => {
  it('counts a fallback an app routed itself, with clean labels', async () => {
    recordFallback('primary', 'secondary', '429', { meterProvider: t.provider });
    recordFallback('primary', 'secondary', '429', { meterProvider: t.provider });
    recordFallback('primary', 'x'.repeat(500), 'timeout', { meterProvider: t.provider });
    recordFallback('primary', 'secondary', 'a reason\nwith a newline', { meterProvider: t.provider });
    expect(fallbacks(await t.collect())).toEqual([
      ['primary', 'secondary', '429', 2],
      ['primary', OTHER_BACKEND, 'timeout', 1],
      ['primary', 'secondary', ERROR_TYPE.other, 1],
    ]);
  });

  it('records into the global MeterProvider by default, and never throws', () => {
    expect(() => recordFallback(undefined as unknown as string, {} as string, null as unknown as string)).not.toThrow();
  });
});
