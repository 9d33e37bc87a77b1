import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { ATTR, DURATION_BUCKETS, METRIC, TOKEN_BUCKETS, TOKENS_PER_SECOND_BUCKETS } from '../../../packages/instrumentation/src/semconv.js';
import { instrumentCall } from '../../../packages/instrumentation/src/index.js';
import { createTestMetrics, sleep, type TestMetrics } from '../../helpers/metrics.js';

const request = { provider: 'vllm', model: 'llama-3.1-8b', serverUrl: 'http://127.0.0.1:8000/v1' };
const base = {
  [ATTR.operationName]: 'chat',
  [ATTR.providerName]: 'vllm',
  [ATTR.requestModel]: 'llama-3.1-8b',
  [ATTR.serverAddress]: '127.0.0.1',
  [ATTR.serverPort]: 8000,
  [ATTR.requestStream]: false,
};

let t: TestMetrics;
beforeEach(() => {
  t = createTestMetrics();
});
afterEach(async () => {
  await t.shutdown();
});

describe('instrumentCall', () => {
  it('returns the same promise and records success, usage, tokens/s and the active gauge', async () => {
    const response = { model: 'llama-3.1-8b-0424', usage: { prompt_tokens: 12, completion_tokens: 40 } };
    let promise: Promise<typeof response> | undefined;
    const before = performance.now();
    const returned = t.metrics.instrumentCall(request, () => {
      promise = sleep(100).then(() => response);
      return promise;
    });
    expect(returned).toBe(promise);
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
    expect(await returned).toBe(response);
    const settled = performance.now();
    await sleep(0);

    const c = await t.collect();
    const attrs = { ...base, [ATTR.responseModel]: 'llama-3.1-8b-0424' };
    const duration = c.histogram(METRIC.operationDuration, { ...attrs, [ATTR.outcome]: 'success' });
    expect(duration.attributes).toEqual({ ...attrs, [ATTR.outcome]: 'success' });
    expect(duration.count).toBe(1);
    // Timers may fire up to 1 ms early; the call ended before the caller's await resumed.
    expect(duration.sum).toBeGreaterThanOrEqual(0.098);
    expect(duration.sum * 1000).toBeLessThanOrEqual(settled - before);
    expect(duration.boundaries).toEqual([...DURATION_BUCKETS]);
    expect(c.total(METRIC.requests, { ...attrs, [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);

    const input = c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' });
    expect(input.attributes).toEqual({ ...attrs, [ATTR.tokenType]: 'input' });
    expect(input.sum).toBe(12);
    expect(input.boundaries).toEqual([...TOKEN_BUCKETS]);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(40);

    const rate = c.histogram(METRIC.outputTokenRate);
    expect(rate.attributes).toEqual(attrs);
    expect(rate.boundaries).toEqual([...TOKENS_PER_SECOND_BUCKETS]);
    // 40 tokens over the call's duration, which was ~100 ms.
    expect(rate.sum).toBeCloseTo(40 / duration.sum, 6);
    expect(c.metric(METRIC.timeToFirstChunk)).toBeUndefined();
  });

  it('rejects with the same error and records error.type from the HTTP status', async () => {
    const error = Object.assign(new Error('rate limited'), { status: 429 });
    const promise = Promise.reject(error);
    const returned = t.metrics.instrumentCall(request, () => promise);
    expect(returned).toBe(promise);
    await expect(returned).rejects.toBe(error);
    await sleep(0);

    const c = await t.collect();
    const attrs = { ...base, [ATTR.errorType]: '429', [ATTR.outcome]: 'error' };
    expect(c.histogram(METRIC.operationDuration).attributes).toEqual(attrs);
    expect(c.total(METRIC.requests, attrs)).toBe(1);
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
  });

  it('rethrows a synchronous throw unchanged and records it by class name', async () => {
    class ModelOverloaded extends Error {}
    const error = new ModelOverloaded('busy');
    expect(() =>
      t.metrics.instrumentCall(request, () => {
        throw error;
      }),
    ).toThrow(error);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: 'ModelOverloaded' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records timeouts as error.type=timeout and aborts as cancelled', async () => {
    const timeout = Object.assign(new Error('t'), { name: 'APIConnectionTimeoutError' });
    const undiciTimeout = Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } });
    const abort = new DOMException('aborted', 'AbortError');
    for (const error of [timeout, undiciTimeout, abort]) {
      await t.metrics.instrumentCall(request, () => Promise.reject(error)).catch(() => {});
    }
    await sleep(0);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: 'timeout' })).toBe(2);
    const cancelled = c.sums(METRIC.requests, { [ATTR.outcome]: 'cancelled' });
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.value).toBe(1);
    expect(cancelled[0]!.attributes).not.toHaveProperty(ATTR.errorType);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('returns a synchronous value as is and records it', async () => {
    const value = { usage: { input_tokens: 3, output_tokens: 5 } };
    expect(t.metrics.instrumentCall(request, () => value)).toBe(value);
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(3);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(5);
  });

  it('records no token metric when the provider reported no usage', async () => {
    await t.metrics.instrumentCall(request, async () => ({ choices: [] }));
    await sleep(0);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
  });

  it('uses a custom usage extractor', async () => {
    await t.metrics.instrumentCall(request, async () => ({ eval_count: 9, prompt_eval_count: 4 }), {
      extractUsage: (r) => {
        const o = r as { eval_count: number; prompt_eval_count: number };
        return { inputTokens: o.prompt_eval_count, outputTokens: o.eval_count };
      },
    });
    await sleep(0);
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(9);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(4);
  });

  it('never lets a failing extractor reach the caller, and reports it through diag', async () => {
    const logger: DiagLogger = { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn(), verbose: vi.fn() };
    diag.setLogger(logger, DiagLogLevel.WARN);
    try {
      const value = { ok: true };
      const result = await t.metrics.instrumentCall(request, async () => value, {
        extractUsage: () => {
          throw new Error('extractor bug');
        },
      });
      expect(result).toBe(value);
      await sleep(0);
      const c = await t.collect();
      expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
      expect(c.total(METRIC.activeRequests)).toBe(0);
      expect(logger.error).toHaveBeenCalledWith(expect.stringContaining('extractor bug'));
    } finally {
      diag.disable();
    }
  });

  it('ends an error whose getters throw as _OTHER', async () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
      },
    );
    await t.metrics.instrumentCall(request, () => Promise.reject(hostile)).catch((e: unknown) => expect(e).toBe(hostile));
    await sleep(0);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '_OTHER' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('collapses models outside the allowlist to "other"', async () => {
    const allow = createTestMetrics({ modelAllowlist: ['gpt-4o', /^llama-/] });
    try {
      for (const model of ['gpt-4o', 'llama-3.1-8b', 'my-finetune-7f3a']) {
        await allow.metrics.instrumentCall({ provider: 'openai', model }, async () => ({ model }));
      }
      await sleep(0);
      const c = await allow.collect();
      const models = c.sums(METRIC.requests).map((p) => [p.attributes[ATTR.requestModel], p.attributes[ATTR.responseModel]]);
      expect(models.sort()).toEqual([
        ['gpt-4o', 'gpt-4o'],
        ['llama-3.1-8b', 'llama-3.1-8b'],
        ['other', 'other'],
      ]);
    } finally {
      await allow.shutdown();
    }
  });

  it('records the default server port of the scheme and the operation name given', async () => {
    await t.metrics.instrumentCall(
      { provider: 'openai', operation: 'embeddings', serverUrl: 'https://api.openai.com/v1' },
      async () => ({}),
    );
    await sleep(0);
    const c = await t.collect();
    expect(c.sums(METRIC.requests)[0]!.attributes).toEqual({
      [ATTR.operationName]: 'embeddings',
      [ATTR.providerName]: 'openai',
      [ATTR.serverAddress]: 'api.openai.com',
      [ATTR.serverPort]: 443,
      [ATTR.requestStream]: false,
      [ATTR.outcome]: 'success',
    });
  });

  it('is a no-op without a registered MeterProvider and still returns the result', async () => {
    const value = { usage: { prompt_tokens: 1 } };
    await expect(instrumentCall(request, async () => value)).resolves.toBe(value);
  });
});

describe('startRequest (manual tracker)', () => {
  it('follows start → first output → outputs → end with usage', async () => {
    const before = performance.now();
    const tracker = t.metrics.startRequest({ provider: 'gateway', model: 'm' }, { stream: true });
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
    await sleep(60);
    // The clock around each output() call: its stamp lies in between.
    const around: Array<[number, number]> = [];
    const output = () => {
      const at = performance.now();
      tracker.output();
      around.push([at, performance.now()]);
    };
    output();
    for (let i = 0; i < 4; i++) {
      await sleep(20);
      output();
    }
    tracker.end({ usage: { inputTokens: 10, outputTokens: 9 }, responseModel: 'm-2' });
    tracker.end();
    tracker.fail(new Error('late'));
    expect(tracker.ended).toBe(true);

    const c = await t.collect();
    const attrs = { [ATTR.requestStream]: true, [ATTR.responseModel]: 'm-2' };
    const ttfc = c.histogram(METRIC.timeToFirstChunk, attrs);
    expect(ttfc.count).toBe(1);
    expect(ttfc.sum).toBeGreaterThanOrEqual(0.058);
    expect(ttfc.sum * 1000).toBeLessThanOrEqual(around[0]![1] - before);
    const tpoc = c.histogram(METRIC.timePerOutputChunk, attrs);
    expect(tpoc.count).toBe(4);
    expect(tpoc.min!).toBeGreaterThanOrEqual(0.018);
    expect(tpoc.sum * 1000).toBeGreaterThanOrEqual(around[4]![0] - around[0]![1]);
    expect(tpoc.sum * 1000).toBeLessThanOrEqual(around[4]![1] - around[0]![0]);
    // Decode rate: (9 − 1) tokens over the 4 gaps between first and last output.
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(8 / tpoc.sum, 1);
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records fail and cancel once each', async () => {
    const failed = t.metrics.startRequest({ provider: 'p' });
    failed.fail(Object.assign(new Error('x'), { status: 503 }));
    failed.cancel();
    const cancelled = t.metrics.startRequest({ provider: 'p' });
    cancelled.cancel();
    cancelled.end();
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(2);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '503' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });
});
