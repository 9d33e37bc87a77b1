// Numbers that are not numbers: only non-negative safe integers are token counts, only finite
// non-negative times are durations and only finite positive values are rates. Anything else is
// not recorded, with one debug line, and the rest of the request still is.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ATTR, METRIC } from '../../../packages/instrumentation/src/semconv.js';
import type { TokenUsage, UsageExtractor } from '../../../packages/instrumentation/src/index.js';
import { captureDiag, chatChunk, createTestMetrics, drain, sleep, timedChunks, type TestMetrics } from '../../helpers/metrics.js';

const request = { provider: 'vllm', model: 'llama' };

/** A value a custom extractor might return as a count, and how the debug line names it ('' for none). */
const BAD_COUNTS: ReadonlyArray<readonly [string, unknown, string]> = [
  ['Infinity', Infinity, 'the number Infinity'],
  ['-Infinity', -Infinity, 'the number -Infinity'],
  ['NaN', Number.NaN, 'the number NaN'],
  ['-1', -1, 'the number -1'],
  ['1.5', 1.5, 'the number 1.5'],
  ['1e308', 1e308, 'the number 1e+308'],
  ['2^53 (not a safe integer)', 2 ** 53, 'the number 9007199254740992'],
  ['the string "12"', '12', 'a string'],
  ['a bigint', 12n, 'a bigint'],
  ['true', true, 'a boolean'],
  ['an object', { value: 12 }, 'an object'],
  ['an array', [12], 'an object'],
  // null is a missing count, as in provider JSON: nothing recorded and nothing to say.
  ['null', null, ''],
];

const countLines = (described: string) =>
  described === ''
    ? []
    : ['input', 'output'].map((kind) => `otel-inference: ${kind} token count not recorded: ${described} is not a non-negative safe integer`);

let t: TestMetrics;
let diagnostics: ReturnType<typeof captureDiag>;
beforeEach(() => {
  t = createTestMetrics();
  diagnostics = captureDiag();
});
afterEach(async () => {
  diagnostics.stop();
  vi.restoreAllMocks();
  await t.shutdown();
});

/** An extractor reporting `value` as both counts. */
const reporting =
  (value: unknown): UsageExtractor =>
  () =>
    ({ inputTokens: value, outputTokens: value }) as TokenUsage;

describe('token counts that are not counts', () => {
  it('control: a real count from a custom extractor is recorded, with its rate', async () => {
    await t.metrics.instrumentCall(request, () => sleep(10).then(() => ({})), { extractUsage: reporting(12) });
    await sleep(0);
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(12);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(12);
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(12 / c.histogram(METRIC.operationDuration).sum, 6);
    expect(diagnostics.ours('debug')).toEqual([]);
  });

  it.each(BAD_COUNTS)('instrumentCall: %s is not recorded and drives no rate; the request is', async (_name, value, described) => {
    const result = { ok: true };
    const returned = await t.metrics.instrumentCall(request, () => sleep(10).then(() => result), {
      extractUsage: reporting(value),
    });
    expect(returned).toBe(result);
    await sleep(0);
    const c = await t.collect();
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    const duration = c.histogram(METRIC.operationDuration, { [ATTR.outcome]: 'success' });
    expect(duration.count).toBe(1);
    expect(duration.sum).toBeGreaterThanOrEqual(0.009);
    expect(c.total(METRIC.requests)).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(diagnostics.ours('debug')).toEqual(countLines(described));
    // Nothing reached the SDK for it to refuse, and nothing failed.
    expect(diagnostics.lines.warn).toEqual([]);
    expect(diagnostics.lines.error).toEqual([]);
  });

  it.each(BAD_COUNTS)('instrumentStream: %s is not recorded and drives no rate; TTFT and gaps are', async (_name, value, described) => {
    const chunks = [chatChunk.content('a'), chatChunk.content('b'), chatChunk.content('c'), chatChunk.usage(0, 0)];
    const usageChunk = chunks[3];
    const seen = await drain(
      t.metrics.instrumentStream(request, timedChunks(chunks, [0, 5, 5, 0]), {
        extractUsage: (chunk) => (chunk === usageChunk ? reporting(value)(chunk) : undefined),
      }),
    );
    expect(seen).toEqual(chunks);
    const c = await t.collect();
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    const tpoc = c.histogram(METRIC.timePerOutputChunk);
    expect(tpoc.count).toBe(2);
    expect(tpoc.min!).toBeGreaterThanOrEqual(0.004);
    expect(c.histogram(METRIC.operationDuration, { [ATTR.outcome]: 'success' }).count).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(diagnostics.ours('debug')).toEqual(countLines(described));
    expect(diagnostics.lines.warn).toEqual([]);
    expect(diagnostics.lines.error).toEqual([]);
  });

  it.each(BAD_COUNTS)('a tracker: setUsage and end({ usage }) with %s record no tokens', async (_name, value, described) => {
    const tracker = t.metrics.startRequest(request, { stream: true });
    tracker.output();
    await sleep(5);
    tracker.output();
    tracker.setUsage({ inputTokens: value, outputTokens: value } as TokenUsage);
    tracker.end({ usage: { inputTokens: value, outputTokens: value } as TokenUsage });
    const c = await t.collect();
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.histogram(METRIC.timePerOutputChunk).count).toBe(1);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(diagnostics.ours('debug')).toEqual([...countLines(described), ...countLines(described)]);
    expect(diagnostics.lines.warn).toEqual([]);
  });

  it.each([
    ['Infinity', Infinity, 'the number Infinity'],
    ['the string "12"', '12', 'a string'],
    ['12', 12, 'the number 12'],
    ['a function', () => 12, 'a function'],
    ['null', null, ''],
    ['an empty object', {}, ''],
    ['an array', [12, 12], ''],
  ] as const)('an extractor returning %s instead of a TokenUsage records no tokens', async (_name, value, described) => {
    await t.metrics.instrumentCall(request, async () => ({}), { extractUsage: () => value as unknown as TokenUsage });
    await drain(t.metrics.instrumentStream(request, timedChunks([chatChunk.content('a')]), { extractUsage: () => value as unknown as TokenUsage }));
    await sleep(0);
    const c = await t.collect();
    expect(c.metric(METRIC.tokenUsage)).toBeUndefined();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(2);
    expect(c.histogram(METRIC.timeToFirstChunk).count).toBe(1);
    const line = `otel-inference: token usage not recorded: ${described} is not an object`;
    // One line per value handed over: the call's result, and the stream's one chunk.
    expect(diagnostics.ours('debug')).toEqual(described === '' ? [] : [line, line]);
    expect(diagnostics.lines.error).toEqual([]);
  });

  it('a bad count does not erase an earlier real one, and a real count next to a bad one is kept', async () => {
    const chunks = [
      { type: 'message_start', message: { usage: { input_tokens: 8, output_tokens: 1 } } },
      { type: 'content_block_delta', delta: { text: 'a' } },
      { type: 'content_block_delta', delta: { text: 'b' } },
      { type: 'message_delta', usage: { output_tokens: 5 } },
      { type: 'message_delta', usage: { input_tokens: 1e308, output_tokens: -3 } },
    ];
    await drain(t.metrics.instrumentStream({ provider: 'anthropic' }, timedChunks(chunks, [0, 0, 10, 0, 0])));
    const c = await t.collect();
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'input' }).sum).toBe(8);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(5);
    const gap = c.histogram(METRIC.timePerOutputChunk).sum;
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(4 / gap, 6);
    expect(diagnostics.ours('debug')).toEqual([
      'otel-inference: usage.input_tokens not recorded: the number 1e+308 is not a non-negative safe integer',
      'otel-inference: usage.output_tokens not recorded: the number -3 is not a non-negative safe integer',
    ]);
  });
});

describe('durations and rates that are not numbers', () => {
  /** Runs `body` with performance.now() reading `clock.now`, restored before anything is collected. */
  function withClock(body: (clock: { now: number }) => void): void {
    const clock = { now: 0 };
    const spy = vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
    try {
      body(clock);
    } finally {
      spy.mockRestore();
    }
  }

  it('a duration that is not a finite time is not recorded; the request, tokens and TTFT are', async () => {
    withClock((clock) => {
      clock.now = 1000;
      const tracker = t.metrics.startRequest(request, { stream: true });
      clock.now = 1040;
      tracker.output();
      clock.now = 1050;
      tracker.output();
      clock.now = Number.NaN;
      tracker.end({ usage: { inputTokens: 3, outputTokens: 4 } });
    });
    const c = await t.collect();
    expect(c.metric(METRIC.operationDuration)).toBeUndefined();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
    expect(c.histogram(METRIC.timeToFirstChunk).sum).toBeCloseTo(0.04, 9);
    expect(c.histogram(METRIC.timePerOutputChunk).sum).toBeCloseTo(0.01, 9);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(4);
    // The decode rate does not depend on the end: (4 − 1) tokens over 10 ms.
    expect(c.histogram(METRIC.outputTokenRate).sum).toBeCloseTo(300, 6);
    expect(diagnostics.ours('debug')).toEqual([
      'otel-inference: gen_ai.client.operation.duration not recorded: the number NaN is not a finite non-negative duration',
    ]);
  });

  it('a first-chunk time that is not a number is not recorded as TTFT; the request is', async () => {
    withClock((clock) => {
      const tracker = t.metrics.startRequest(request, { stream: true });
      clock.now = Number.NaN;
      tracker.output();
      clock.now = 10;
      tracker.end({ usage: { outputTokens: 3 } });
    });
    const c = await t.collect();
    expect(c.metric(METRIC.timeToFirstChunk)).toBeUndefined();
    expect(c.histogram(METRIC.operationDuration).sum).toBeCloseTo(0.01, 9);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(3);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(diagnostics.ours('debug')).toEqual([
      `otel-inference: ${METRIC.timeToFirstChunk} not recorded: the number NaN is not a finite non-negative duration`,
    ]);
  });

  it('a chunk time that is not a number is not recorded as a gap, and gives no rate', async () => {
    withClock((clock) => {
      const tracker = t.metrics.startRequest(request, { stream: true });
      clock.now = 5;
      tracker.output();
      clock.now = 20;
      tracker.output();
      clock.now = Number.NaN;
      tracker.output();
      clock.now = 30;
      tracker.end({ usage: { outputTokens: 10 } });
    });
    const c = await t.collect();
    expect(c.histogram(METRIC.timeToFirstChunk).sum).toBeCloseTo(0.005, 9);
    const tpoc = c.histogram(METRIC.timePerOutputChunk);
    expect(tpoc.count).toBe(1);
    expect(tpoc.sum).toBeCloseTo(0.015, 9);
    // The decode rate runs to the last chunk, whose time is no number.
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.histogram(METRIC.operationDuration).sum).toBeCloseTo(0.03, 9);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(10);
    expect(diagnostics.ours('debug')).toEqual([
      `otel-inference: ${METRIC.timePerOutputChunk} not recorded: the number NaN is not a finite non-negative duration`,
      `otel-inference: ${METRIC.outputTokenRate} not recorded: the number NaN is not a finite positive rate`,
    ]);
  });

  it.each([
    ['a stream', true],
    ['a single response', false],
  ])('%s: a rate that overflows to Infinity is not recorded; its duration and tokens are', async (_name, stream) => {
    withClock((clock) => {
      const tracker = t.metrics.startRequest(request, { stream });
      tracker.output();
      // The smallest time step a double holds: a safe count over it is no finite rate.
      clock.now = 1e-320;
      tracker.output();
      tracker.end({ usage: { outputTokens: 1_000_000 } });
    });
    const c = await t.collect();
    expect(c.metric(METRIC.outputTokenRate)).toBeUndefined();
    expect(c.histogram(METRIC.operationDuration).count).toBe(1);
    expect(c.histogram(METRIC.operationDuration).sum).toBeGreaterThan(0);
    expect(c.histogram(METRIC.tokenUsage, { [ATTR.tokenType]: 'output' }).sum).toBe(1_000_000);
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'success' })).toBe(1);
    expect(diagnostics.ours('debug')).toEqual([
      `otel-inference: ${METRIC.outputTokenRate} not recorded: the number Infinity is not a finite positive rate`,
    ]);
    expect(diagnostics.lines.warn).toEqual([]);
  });
});
