import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ATTR, METRIC } from '../../../packages/instrumentation/src/semconv.js';
import {
  chatChunk,
  collectGarbage,
  createTestMetrics,
  drain,
  drainTimed,
  sleep,
  timedChunks,
  type TestMetrics,
} from '../../helpers/metrics.js';

const request = { provider: 'vllm', model: 'llama', serverAddress: 'gpu-1', serverPort: 8000 };

let t: TestMetrics;
beforeEach(() => {
  t = createTestMetrics();
});
afterEach(async () => {
  await t.shutdown();
});

describe('instrumentStream', () => {
  it('passes the same chunks through and records TTFT, per-chunk gaps, usage and decode rate', async () => {
    const chunks = [
      chatChunk.role(),
      chatChunk.content('a'),
      chatChunk.content('b'),
      chatChunk.content('c'),
      chatChunk.content('d'),
      chatChunk.finish(),
      chatChunk.usage(11, 4),
    ];
    // role chunk at once, first content after 80 ms, then 30 ms apart.
    const delays = [0, 80, 30, 30, 30, 0, 0];
    const startedBefore = performance.now();
    const wrapped = t.metrics.instrumentStream(request, timedChunks(chunks, delays));
    const seen = await drainTimed(wrapped);
    expect(seen).toHaveLength(chunks.length);
    seen.forEach(({ chunk }, i) => expect(chunk).toBe(chunks[i]));

    const c = await t.collect();
    const attrs = {
      [ATTR.operationName]: 'chat',
      [ATTR.providerName]: 'vllm',
      [ATTR.requestModel]: 'llama',
      [ATTR.responseModel]: 'm-resp',
      [ATTR.serverAddress]: 'gpu-1',
      [ATTR.serverPort]: 8000,
      [ATTR.requestStream]: true,
    };
    const ttfc = c.histogram(METRIC.timeToFirstChunk);
    expect(ttfc.attributes).toEqual(attrs);
    // The role-only chunk does not count: first output is the content chunk, due 80 ms in (a
    // timer fires no earlier than its delay; 2 ms for clock rounding), and stamped before the
    // consumer itself got it. The consumer's clock bounds every timing from above, however
    // loaded the machine is.
    const firstContent = seen[1]!;
    expect(ttfc.sum).toBeGreaterThanOrEqual(0.08 - 0.002);
    expect(ttfc.sum * 1000).toBeLessThanOrEqual(firstContent.receivedAt - startedBefore);
    // Each gap is at least the 30 ms the source sleeps after being asked for the chunk, and at
    // most what the consumer saw from asking for the chunk before to getting this one.
    const tpoc = c.histogram(METRIC.timePerOutputChunk);
    expect(tpoc.count).toBe(3);
    const observed = [2, 3, 4].map((i) => seen[i]!.receivedAt - seen[i - 1]!.requestedAt);
    expect(tpoc.min!).toBeGreaterThanOrEqual(0.03 - 0.002);
    expect(tpoc.max! * 1000).toBeLessThanOrEqual(Math.max(...observed));
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(11);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(4);
    // (4 − 1) tokens over the time from first to last output chunk (the sum of the gaps).
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(3 / tpoc.sum, 6);
    const duration = c.histogram(METRIC.operationDuration, { [ATTR.outcome]: 'success' });
    expect(duration.sum).toBeGreaterThanOrEqual(0.168);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('holds the active gauge up while the stream is in flight', async () => {
    const it = t.metrics.instrumentStream(request, timedChunks([chatChunk.content('a'), chatChunk.content('b')]));
    await it.next();
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
    await it.next();
    expect((await it.next()).done).toBe(true);
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(0);
  });

  it('records no token metric and no rate when no chunk carries usage', async () => {
    await drain(t.metrics.instrumentStream(request, timedChunks([chatChunk.content('a'), chatChunk.content('b')], 5)));
    const c = await t.collect();
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
  });

  it('rethrows a mid-stream error unchanged and records error with what arrived before', async () => {
    const boom = Object.assign(new Error('upstream reset'), { name: 'APIConnectionError' });
    async function* failing() {
      yield chatChunk.content('a');
      await sleep(10);
      yield chatChunk.content('b');
      throw boom;
    }
    const seen: unknown[] = [];
    await expect(
      (async () => {
        for await (const chunk of t.metrics.instrumentStream(request, failing())) seen.push(chunk);
      })(),
    ).rejects.toBe(boom);
    expect(seen).toHaveLength(2);
    const c = await t.collect();
    const failed = { [ATTR.outcome]: 'error', [ATTR.errorType]: 'APIConnectionError' };
    expect(c.total(METRIC.requests, failed)).toBe(1);
    expect(c.histogram(METRIC.operationDuration, failed).count).toBe(1);
    expect(c.histogram(METRIC.timeToFirstChunk, { [ATTR.errorType]: 'APIConnectionError' }).count).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled and calls the source return() when the consumer breaks early', async () => {
    let sourceFinally = false;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) yield chatChunk.content(`t${i}`);
      } finally {
        sourceFinally = true;
      }
    }
    let n = 0;
    for await (const _ of t.metrics.instrumentStream(request, source())) {
      if (++n === 3) break;
    }
    expect(sourceFinally).toBe(true);
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(2);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it.each([
    ['an async generator (throw() forwarded)', true],
    ['an iterator without throw()', false],
  ])('records cancelled when the consumer calls throw() on %s', async (_name, hasThrow) => {
    let thrownIn: unknown;
    let i = 0;
    const iterator: AsyncIterator<unknown> = {
      next: async () => ({ done: false, value: chatChunk.content(`t${i++}`) }),
      ...(hasThrow
        ? {
            throw: async (error?: unknown) => {
              thrownIn = error;
              throw error;
            },
          }
        : {}),
    };
    const wrapped = t.metrics.instrumentStream(request, { [Symbol.asyncIterator]: () => iterator });
    await wrapped.next();
    await sleep(5);
    await wrapped.next();
    const reason = new Error('consumer gave up');
    await expect(wrapped.throw!(reason)).rejects.toBe(reason);
    expect(thrownIn).toBe(hasThrow ? reason : undefined);

    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    const cancelled = c.sums(METRIC.requests, { [ATTR.outcome]: 'cancelled' });
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.value).toBe(1);
    // The consumer's own reason is not an error of the request.
    expect(cancelled[0]!.attributes).not.toHaveProperty(ATTR.errorType);
    expect(c.histogram(METRIC.operationDuration, { [ATTR.outcome]: 'cancelled' }).sum).toBeGreaterThanOrEqual(0.004);
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled when the stream ends because its signal was aborted', async () => {
    const controller = new AbortController();
    async function* source() {
      yield chatChunk.content('a');
      controller.abort();
      // Like the openai client, the source ends quietly on abort.
    }
    await drain(t.metrics.instrumentStream(request, source(), { signal: controller.signal }));
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('records cancelled, not error, when the source throws an AbortError', async () => {
    const abort = new DOMException('The operation was aborted', 'AbortError');
    async function* source() {
      yield chatChunk.content('a');
      throw abort;
    }
    await expect(drain(t.metrics.instrumentStream(request, source()))).rejects.toBe(abort);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error' })).toBe(0);
  });

  it('finalizes a stream that is never iterated as cancelled when it is garbage-collected', async () => {
    let opened = false;
    const iterable = {
      [Symbol.asyncIterator]() {
        opened = true;
        return timedChunks([chatChunk.content('a')]);
      },
    };
    (() => {
      t.metrics.instrumentStream(request, iterable);
    })();
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(1);
    await collectGarbage();
    expect(opened).toBe(false);
    const c = await t.collect();
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    // Its duration runs to the last thing seen of it (here: its start), not to the collection.
    expect(c.histogram(METRIC.operationDuration).sum).toBeLessThan(0.005);
  });

  it('finalizes a stream abandoned mid-way (no return()) as cancelled at its last chunk', async () => {
    const before = performance.now();
    let firstSeen = 0;
    await (async () => {
      const it = t.metrics.instrumentStream(request, timedChunks([chatChunk.content('a'), chatChunk.content('b')]));
      await it.next();
      firstSeen = performance.now();
    })();
    await sleep(50);
    await collectGarbage();
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled' })).toBe(1);
    // Up to the first chunk, which the consumer had by `firstSeen`: not up to the collection, 50 ms later.
    expect(c.histogram(METRIC.operationDuration).sum * 1000).toBeLessThanOrEqual(firstSeen - before);
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('counts one request when the wrapper is iterated twice', async () => {
    const wrapped = t.metrics.instrumentStream(request, timedChunks([chatChunk.content('a'), chatChunk.content('b')]));
    expect(await drain(wrapped)).toHaveLength(2);
    expect(await drain(wrapped)).toHaveLength(0);
    const c = await t.collect();
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('passes malformed chunks through untouched and does not count them as output', async () => {
    const odd = [null, 42, 'text', { choices: null }, { choices: [null, { delta: null }] }, {}, Symbol.for('x')];
    const snapshot = JSON.stringify(odd.slice(0, 6));
    const seen = await drain(t.metrics.instrumentStream(request, timedChunks(odd)));
    expect(seen).toEqual(odd);
    expect(JSON.stringify(odd.slice(0, 6))).toBe(snapshot);
    const c = await t.collect();
    // Only the non-empty string chunk counts as output.
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    expect(c.metric(METRIC.timePerOutputChunk)).toBeUndefined();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
  });

  it('times from the call when given a function that opens the stream', async () => {
    const wrapped = await t.metrics.instrumentStream(request, async () => {
      await sleep(60);
      return timedChunks([chatChunk.content('a')]);
    });
    await drain(wrapped);
    const c = await t.collect();
    expect(c.histogram(METRIC.timeToFirstChunk).sum).toBeGreaterThanOrEqual(0.058);
  });

  it('records error when opening the stream fails, with the same error', async () => {
    const error = Object.assign(new Error('server error'), { status: 500 });
    await expect(t.metrics.instrumentStream(request, () => Promise.reject(error))).rejects.toBe(error);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'error', [ATTR.errorType]: '500' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });

  it('reads Responses API and Anthropic stream events', async () => {
    const responses = [
      { type: 'response.created', response: { model: 'gpt-4o-2024', usage: null } },
      { type: 'response.output_text.delta', delta: 'Hel' },
      { type: 'response.output_text.delta', delta: 'lo' },
      { type: 'response.completed', response: { model: 'gpt-4o-2024', usage: { input_tokens: 5, output_tokens: 2 } } },
    ];
    await drain(t.metrics.instrumentStream({ provider: 'openai' }, timedChunks(responses, 5)));
    const anthropic = [
      { type: 'message_start', message: { model: 'claude-x', usage: { input_tokens: 8, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '!' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '?' } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 3 } },
      { type: 'message_stop' },
    ];
    await drain(t.metrics.instrumentStream({ provider: 'anthropic' }, timedChunks(anthropic, 5)));
    const c = await t.collect();
    const openai = { [ATTR.providerName]: 'openai', [ATTR.responseModel]: 'gpt-4o-2024' };
    expect(c.histogram(METRIC.tokenUsage, { ...openai, [ATTR.tokenType]: 'output' }).sum).toBe(2);
    expect(c.histogram(METRIC.timePerOutputChunk, openai).count).toBe(1);
    const claude = { [ATTR.providerName]: 'anthropic', [ATTR.responseModel]: 'claude-x' };
    expect(c.histogram(METRIC.tokenUsage, { ...claude, [ATTR.tokenType]: 'input' }).sum).toBe(8);
    // message_delta's cumulative count replaces message_start's preliminary one.
    expect(c.histogram(METRIC.tokenUsage, { ...claude, [ATTR.tokenType]: 'output' }).sum).toBe(3);
    expect(c.histogram(METRIC.timePerOutputChunk, claude).count).toBe(2);
  });
});
