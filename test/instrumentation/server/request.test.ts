/**
 * The explicit server API: a served request's values on every exit path, read back through a
 * MetricReader, with a controlled clock (exact values) and once with real delays (tolerances).
 */
import { DiagLogLevel } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  cancelOpenRequests,
  startServerRequest,
  type ServerRequest,
  type ServerRequestOptions,
} from '../../../packages/instrumentation/src/index.js';
import {
  ATTR,
  DURATION_BUCKETS,
  PHASE,
  SERVER_METRIC,
  SERVER_TPOT_BUCKETS,
  SERVER_TTFT_BUCKETS,
  TOKENS_PER_SECOND_BUCKETS,
} from '../../../packages/instrumentation/src/semconv.js';
import { captureDiag, createTestMetrics, sleep, type Collected, type TestMetrics } from '../../helpers/metrics.js';

const M = SERVER_METRIC;

let t: TestMetrics;
let clock: { now: number };
beforeEach(() => {
  // Whatever another test of this process left open is none of this test's business.
  cancelOpenRequests();
  t = createTestMetrics();
  clock = { now: 1000 };
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
});
afterEach(async () => {
  vi.restoreAllMocks();
  await t.shutdown();
});

const start = (options: ServerRequestOptions = {}): ServerRequest =>
  startServerRequest({ provider: 'llama_cpp', requestModel: 'qwen', meterProvider: t.provider, ...options });

const advance = (ms: number) => {
  clock.now += ms;
};

/** The gauges every path must bring back to 0. */
function expectGaugesAtZero(c: Collected): void {
  expect(c.total(M.activeRequests)).toBe(0);
  expect(c.total(M.waitingRequests)).toBe(0);
}

describe('a successful request', () => {
  it('records queue, phases, TTFT, TPOT, tokens, rate and duration with their exact values and the semconv attributes', async () => {
    const req = start({ queued: true, stream: true, serverAddress: '127.0.0.1', serverPort: 8080 });
    advance(50);
    req.admitted();
    {
      using _prefill = req.phase(PHASE.prefill);
      req.tokens(20, 'input');
      advance(200);
    }
    req.firstToken();
    req.tokens(1);
    {
      using _decode = req.phase(PHASE.decode);
      for (let i = 0; i < 10; i++) {
        advance(100);
        req.tokens(1);
      }
    }
    req.end({ responseModel: 'qwen-2.5' });
    expect(req.ended).toBe(true);

    const c = await t.collect();
    const base = {
      [ATTR.operationName]: 'chat',
      [ATTR.providerName]: 'llama_cpp',
      [ATTR.requestModel]: 'qwen',
      [ATTR.requestStream]: true,
      [ATTR.serverAddress]: '127.0.0.1',
      [ATTR.serverPort]: 8080,
    };
    const ended = { ...base, [ATTR.responseModel]: 'qwen-2.5' };

    const duration = c.histogram(M.requestDuration);
    expect(duration.attributes).toEqual({ ...ended, [ATTR.outcome]: 'success' });
    expect(duration.count).toBe(1);
    expect(duration.sum).toBeCloseTo(1.25, 12);
    expect(duration.boundaries).toEqual([...DURATION_BUCKETS]);

    const ttft = c.histogram(M.timeToFirstToken);
    expect(ttft.attributes).toEqual(ended);
    expect(ttft.sum).toBeCloseTo(0.25, 12);
    expect(ttft.boundaries).toEqual([...SERVER_TTFT_BUCKETS]);

    // (duration − TTFT) / (output tokens − 1) = (1.25 − 0.25) / 10.
    const tpot = c.histogram(M.timePerOutputToken);
    expect(tpot.attributes).toEqual(ended);
    expect(tpot.count).toBe(1);
    expect(tpot.sum).toBeCloseTo(0.1, 12);
    expect(tpot.boundaries).toEqual([...SERVER_TPOT_BUCKETS]);

    const rate = c.histogram(M.outputTokenRate);
    expect(rate.sum).toBeCloseTo(10, 9);
    expect(rate.boundaries).toEqual([...TOKENS_PER_SECOND_BUCKETS]);

    // The queue time is recorded at admission, with what was known then (no response model yet).
    const queue = c.histogram(M.queueDuration);
    expect(queue.attributes).toEqual(base);
    expect(queue.sum).toBeCloseTo(0.05, 12);
    expect(queue.boundaries).toEqual([...DURATION_BUCKETS]);

    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.prefill }).sum).toBeCloseTo(0.2, 12);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.prefill }).boundaries).toEqual([...DURATION_BUCKETS]);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.decode }).sum).toBeCloseTo(1.0, 12);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: PHASE.decode }).attributes).toEqual({ ...base, [ATTR.phase]: 'decode' });

    expect(c.sums(M.tokens, { [ATTR.tokenType]: 'output' })).toEqual([{ attributes: { ...base, [ATTR.tokenType]: 'output' }, value: 11 }]);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'input' })).toBe(20);

    expect(c.sums(M.requests)).toEqual([{ attributes: { ...ended, [ATTR.outcome]: 'success' }, value: 1 }]);
    // The active gauge: one series, the start's attributes, +1 −1.
    expect(c.sums(M.activeRequests)).toEqual([{ attributes: base, value: 0 }]);
    expect(c.sums(M.waitingRequests)).toEqual([{ attributes: base, value: 0 }]);
  });

  it('moves the gauges live, and the tokens counter as tokens come, gathered for at most 50 ms per request', async () => {
    const req = start({ queued: true });
    let c = await t.collect();
    expect(c.total(M.activeRequests)).toBe(1);
    expect(c.total(M.waitingRequests)).toBe(1);
    req.admitted();
    advance(10);
    req.tokens(3); // 10 ms after the arrival: gathered
    c = await t.collect();
    expect(c.total(M.activeRequests)).toBe(1);
    expect(c.total(M.waitingRequests)).toBe(0);
    expect(c.total(M.tokens)).toBe(0);
    advance(40);
    req.tokens(4); // 50 ms: added, with the 3 gathered
    c = await t.collect();
    expect(c.total(M.tokens)).toBe(7);
    expect(c.metric(M.requestDuration)).toBeUndefined();
    advance(10);
    req.tokens(2, 'input');
    req.setRequestModel('switched'); // what was counted is added first, under the model it was counted with
    advance(1);
    req.tokens(1);
    c = await t.collect();
    expect(c.total(M.tokens, { [ATTR.requestModel]: 'qwen' })).toBe(9);
    expect(c.total(M.tokens, { [ATTR.requestModel]: 'switched' })).toBe(0);
    req.end();
    c = await t.collect();
    expectGaugesAtZero(c);
    expect(c.total(M.tokens, { [ATTR.requestModel]: 'qwen', [ATTR.tokenType]: 'output' })).toBe(7);
    expect(c.total(M.tokens, { [ATTR.requestModel]: 'qwen', [ATTR.tokenType]: 'input' })).toBe(2);
    expect(c.total(M.tokens, { [ATTR.requestModel]: 'switched' })).toBe(1);
  });

  it('defaults: operation chat, provider openai_compatible, no stream, model or server attributes', async () => {
    startServerRequest({ meterProvider: t.provider }).end();
    const c = await t.collect();
    expect(c.sums(M.requests)[0]!.attributes).toEqual({
      [ATTR.operationName]: 'chat',
      [ATTR.providerName]: 'openai_compatible',
      [ATTR.outcome]: 'success',
    });
  });

  it('startTime: the arrival given in performance.now() ms is where duration, TTFT and the initial wait begin', async () => {
    const arrival = clock.now;
    advance(40);
    const req = start({ startTime: arrival, queued: true });
    advance(10);
    req.admitted();
    req.firstToken();
    advance(50);
    req.end();
    const c = await t.collect();
    expect(c.histogram(M.queueDuration).sum).toBeCloseTo(0.05, 12);
    expect(c.histogram(M.timeToFirstToken).sum).toBeCloseTo(0.05, 12);
    expect(c.histogram(M.requestDuration).sum).toBeCloseTo(0.1, 12);
  });

  it('a request model set after the start is on every series but the active gauge, which still returns to 0', async () => {
    const req = start({ requestModel: undefined });
    req.setRequestModel('later');
    req.setStream(false);
    req.tokens(2);
    req.end();
    const c = await t.collect();
    expect(c.sums(M.activeRequests)).toEqual([
      { attributes: { [ATTR.operationName]: 'chat', [ATTR.providerName]: 'llama_cpp' }, value: 0 },
    ]);
    expect(c.sums(M.requests)[0]!.attributes).toMatchObject({ [ATTR.requestModel]: 'later', [ATTR.requestStream]: false });
    expect(c.sums(M.tokens)[0]!.attributes).toMatchObject({ [ATTR.requestModel]: 'later' });
  });

  it('the model allowlist collapses other request and response models to `other`', async () => {
    const allowlist = ['qwen', /^llama-/];
    start({ modelAllowlist: allowlist }).end({ responseModel: 'llama-3' });
    start({ modelAllowlist: allowlist, requestModel: 'secret-model' }).end({ responseModel: 'secret-model-v2' });
    const c = await t.collect();
    expect(c.total(M.requests, { [ATTR.requestModel]: 'qwen', [ATTR.responseModel]: 'llama-3' })).toBe(1);
    expect(c.total(M.requests, { [ATTR.requestModel]: 'other', [ATTR.responseModel]: 'other' })).toBe(1);
    expect(c.sums(M.activeRequests).map((p) => p.attributes[ATTR.requestModel]).sort()).toEqual(['other', 'qwen']);
  });
});

describe('token counts', () => {
  it('usage reported by the model beats the counted tokens, and the counter is topped up to it at the end', async () => {
    const req = start();
    req.firstToken();
    req.tokens(5);
    advance(800);
    req.end({ usage: { inputTokens: 12, outputTokens: 9 } });
    const c = await t.collect();
    expect(c.histogram(M.timePerOutputToken).sum).toBeCloseTo(0.8 / 8, 12);
    expect(c.histogram(M.outputTokenRate).sum).toBeCloseTo(8 / 0.8, 9);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(9);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'input' })).toBe(12);
  });

  it('a reported count below the counted one wins for the request, and the counter keeps what was counted', async () => {
    const req = start();
    req.firstToken();
    req.tokens(5);
    req.setUsage({ outputTokens: 3 });
    advance(100);
    req.end();
    const c = await t.collect();
    expect(c.histogram(M.timePerOutputToken).sum).toBeCloseTo(0.1 / 2, 12);
    expect(c.total(M.tokens, { [ATTR.tokenType]: 'output' })).toBe(5);
  });

  it('TPOT needs a first token and two output tokens; the rate without a first token is tokens / duration', async () => {
    const one = start({ requestModel: 'one' });
    one.firstToken();
    one.tokens(1);
    one.end();
    const noFirst = start({ requestModel: 'no-first' });
    advance(500);
    noFirst.end({ usage: { outputTokens: 10 } });
    const c = await t.collect();
    expect(c.histograms(M.timePerOutputToken)).toEqual([]);
    expect(c.histogram(M.timeToFirstToken).attributes[ATTR.requestModel]).toBe('one');
    // one: a first token and 1 token: no decode rate; no-first: 10 tokens / 0.5 s.
    expect(c.histogram(M.outputTokenRate).attributes[ATTR.requestModel]).toBe('no-first');
    expect(c.histogram(M.outputTokenRate).sum).toBeCloseTo(20, 9);
  });

  it('a streamed request without a first token has no rate (its definition is the decode rate)', async () => {
    const req = start({ stream: true });
    advance(100);
    req.end({ usage: { outputTokens: 10 } });
    const c = await t.collect();
    expect(c.histograms(M.outputTokenRate)).toEqual([]);
    expect(c.histograms(M.timePerOutputToken)).toEqual([]);
  });

  it('no tokens counted or reported: no TPOT, no rate, nothing on the tokens counter', async () => {
    const req = start();
    req.firstToken();
    advance(10);
    req.end();
    const c = await t.collect();
    expect(c.histogram(M.timeToFirstToken).count).toBe(1);
    expect(c.metric(M.timePerOutputToken)).toBeUndefined();
    expect(c.metric(M.outputTokenRate)).toBeUndefined();
    expect(c.metric(M.tokens)).toBeUndefined();
  });
});

describe('every exit path ends the request once, with its outcome, and the gauges return to 0', () => {
  async function onlyRequest(): Promise<{ c: Collected; attributes: Record<string, unknown> }> {
    const c = await t.collect();
    const points = c.sums(M.requests);
    expect(points).toHaveLength(1);
    expect(points[0]!.value).toBe(1);
    expect(c.histogram(M.requestDuration).count).toBe(1);
    expectGaugesAtZero(c);
    return { c, attributes: points[0]!.attributes };
  }

  /** A request mid-way: waiting, admitted, first token, a decode phase open. */
  function midway(): ServerRequest {
    const req = start({ queued: true });
    advance(5);
    req.admitted();
    req.firstToken();
    req.tokens(3);
    req.phase(PHASE.decode);
    advance(20);
    return req;
  }

  it('fail(error with a status): error, error.type the status; no TTFT or TPOT (successful responses only)', async () => {
    midway().fail(Object.assign(new Error('overloaded'), { status: 503 }));
    const { c, attributes } = await onlyRequest();
    expect(attributes).toMatchObject({ [ATTR.outcome]: 'error', [ATTR.errorType]: '503' });
    expect(c.metric(M.timeToFirstToken)).toBeUndefined();
    expect(c.metric(M.timePerOutputToken)).toBeUndefined();
    expect(c.metric(M.outputTokenRate)).toBeUndefined();
    // What happened before the failure is kept: the queue time, the open phase, the tokens.
    expect(c.histogram(M.queueDuration).count).toBe(1);
    expect(c.histogram(M.phaseDuration).sum).toBeCloseTo(0.02, 12);
    expect(c.total(M.tokens)).toBe(3);
  });

  it('fail(error) without a status: error.type its class name', async () => {
    midway().fail(new RangeError('bad tensor'));
    expect((await onlyRequest()).attributes).toMatchObject({ [ATTR.outcome]: 'error', [ATTR.errorType]: 'RangeError' });
  });

  it('fail({ statusCode }) gives the status, as from an HTTP response', async () => {
    midway().fail({ statusCode: 429 });
    expect((await onlyRequest()).attributes).toMatchObject({ [ATTR.errorType]: '429' });
  });

  it('fail(an abort error): cancelled, with no error.type', async () => {
    const controller = new AbortController();
    controller.abort();
    midway().fail(controller.signal.reason);
    const { attributes } = await onlyRequest();
    expect(attributes[ATTR.outcome]).toBe('cancelled');
    expect(attributes).not.toHaveProperty(ATTR.errorType);
  });

  it.each([
    [500, '500'],
    ['504', '504'],
    ['rate_limited', 'rate_limited'],
    ['not a type: has spaces', '_OTHER'],
    [42, '_OTHER'],
    [undefined as unknown as string, '_OTHER'],
  ])('failWith(%j): error, error.type %s', async (given, errorType) => {
    midway().failWith(given);
    expect((await onlyRequest()).attributes).toMatchObject({ [ATTR.outcome]: 'error', [ATTR.errorType]: errorType });
  });

  it('cancel(): cancelled, with no error.type', async () => {
    midway().cancel();
    const { attributes } = await onlyRequest();
    expect(attributes[ATTR.outcome]).toBe('cancelled');
    expect(attributes).not.toHaveProperty(ATTR.errorType);
  });

  it('leaving a `using` scope without an end: error, error.type _OTHER, one debug line', async () => {
    const diagnostics = captureDiag(DiagLogLevel.DEBUG);
    try {
      {
        using req = start();
        req.firstToken();
        req.tokens(2);
      }
    } finally {
      diagnostics.stop();
    }
    const { c, attributes } = await onlyRequest();
    expect(attributes).toMatchObject({ [ATTR.outcome]: 'error', [ATTR.errorType]: '_OTHER' });
    expect(c.metric(M.timeToFirstToken)).toBeUndefined();
    expect(diagnostics.ours('debug').filter((line) => line.includes('left its scope'))).toHaveLength(1);
  });

  it('an exception through a `using` scope: the request and its phase are recorded as it unwinds', async () => {
    const serve = () => {
      using req = start();
      using _phase = req.phase(PHASE.prefill);
      advance(30);
      throw new Error('model crashed');
    };
    expect(serve).toThrow('model crashed');
    const { c, attributes } = await onlyRequest();
    expect(attributes).toMatchObject({ [ATTR.outcome]: 'error', [ATTR.errorType]: '_OTHER' });
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: 'prefill' }).sum).toBeCloseTo(0.03, 12);
  });

  it('a `using` scope that ends the request itself: disposing it afterwards records nothing more', async () => {
    const serve = () => {
      using req = start();
      req.firstToken();
      advance(10);
      req.end();
      return 'done';
    };
    expect(serve()).toBe('done');
    expect((await onlyRequest()).attributes[ATTR.outcome]).toBe('success');
  });

  it('every call after the end is ignored, with one debug line per request', async () => {
    const diagnostics = captureDiag(DiagLogLevel.DEBUG);
    const req = start();
    req.end();
    req.end();
    req.fail(new Error('late'));
    req.failWith(500);
    req.cancel();
    req.tokens(5);
    req.firstToken();
    req.queued();
    req.setResponseModel('late');
    const phase = req.phase('late');
    phase.end();
    req[Symbol.dispose]();
    diagnostics.stop();
    expect(phase.ended).toBe(true);
    const { c } = await onlyRequest();
    expect(c.metric(M.tokens)).toBeUndefined();
    expect(c.metric(M.phaseDuration)).toBeUndefined();
    expect(diagnostics.ours('debug').filter((line) => line.includes('has ended'))).toHaveLength(1);
  });

  it('a request still waiting when it ends leaves the waiting gauge and records the time it waited', async () => {
    const req = start({ queued: true });
    advance(70);
    req.cancel();
    const { c, attributes } = await onlyRequest();
    expect(attributes[ATTR.outcome]).toBe('cancelled');
    expect(c.histogram(M.queueDuration).sum).toBeCloseTo(0.07, 12);
  });

  it('a phase still open at the end is ended with the request, at its end time; ending it later does nothing', async () => {
    const req = start();
    const prefill = req.phase(PHASE.prefill);
    advance(40);
    req.end();
    expect(prefill.ended).toBe(true);
    advance(100);
    prefill.end();
    const { c } = await onlyRequest();
    expect(c.histogram(M.phaseDuration).sum).toBeCloseTo(0.04, 12);
    expect(c.histogram(M.phaseDuration).count).toBe(1);
  });

  it('a phase records once, whether ended, disposed, or both; phases of any name, several at once', async () => {
    const req = start();
    const tokenize = req.phase(PHASE.tokenize);
    const batch = req.phase('batch');
    advance(10);
    tokenize.end();
    tokenize.end();
    tokenize[Symbol.dispose]();
    advance(10);
    {
      using _post = req.phase('my-stage.postprocess');
      advance(5);
    }
    batch[Symbol.dispose]();
    req.end();
    const c = await t.collect();
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: 'tokenize' })).toMatchObject({ count: 1 });
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: 'tokenize' }).sum).toBeCloseTo(0.01, 12);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: 'batch' }).sum).toBeCloseTo(0.025, 12);
    expect(c.histogram(M.phaseDuration, { [ATTR.phase]: 'my-stage.postprocess' }).sum).toBeCloseTo(0.005, 12);
  });

  it('a request queued again after its admission (preempted) records each wait', async () => {
    const req = start({ queued: true });
    advance(10);
    req.admitted();
    req.queued();
    req.queued(); // already waiting: ignored
    advance(30);
    req.admitted();
    req.admitted(); // not waiting: ignored
    req.end();
    const { c } = await onlyRequest();
    const queue = c.histogram(M.queueDuration);
    expect(queue.count).toBe(2);
    expect(queue.sum).toBeCloseTo(0.04, 12);
  });
});

describe('cancelOpenRequests', () => {
  it('ends open served requests as cancelled/shutdown, brings active and waiting to 0, and later ends record nothing', async () => {
    const waiting = start({ requestModel: 'waiting', queued: true });
    const decoding = start({ requestModel: 'decoding' });
    decoding.firstToken();
    decoding.tokens(4);
    const done = start({ requestModel: 'done' });
    done.end();
    let c = await t.collect();
    expect(c.total(M.activeRequests)).toBe(2);
    expect(c.total(M.waitingRequests)).toBe(1);

    expect(cancelOpenRequests()).toBe(2);
    expect(waiting.ended && decoding.ended).toBe(true);
    expect(cancelOpenRequests()).toBe(0);

    decoding.tokens(10);
    decoding.end({ usage: { outputTokens: 50 } });
    waiting.admitted();
    c = await t.collect();
    expectGaugesAtZero(c);
    expect(c.total(M.requests, { [ATTR.outcome]: 'cancelled', [ATTR.errorType]: 'shutdown' })).toBe(2);
    expect(c.total(M.requests)).toBe(3);
    expect(c.total(M.tokens)).toBe(4);
    expect(c.histogram(M.queueDuration).count).toBe(1);
  });
});

describe('bad inputs are ignored, never thrown', () => {
  it('options, counts, models, usage and phase names that are not what they should be', async () => {
    const diagnostics = captureDiag(DiagLogLevel.DEBUG);
    let req!: ServerRequest;
    expect(() => {
      req = startServerRequest({
        meterProvider: t.provider,
        operation: 42 as unknown as string,
        provider: '',
        requestModel: { name: 'x' } as unknown as string,
        serverPort: 70000,
        serverAddress: 5 as unknown as string,
        stream: 'yes' as unknown as boolean,
        startTime: clock.now + 1000,
        modelAllowlist: 'qwen' as unknown as string[],
      });
      req.tokens(-1);
      req.tokens(Number.NaN);
      req.tokens(1.5);
      req.tokens('3' as unknown as number);
      req.tokens(2, 'reasoning' as 'output');
      req.tokens(2);
      req.setRequestModel(undefined as unknown as string);
      req.setResponseModel(7 as unknown as string);
      req.setStream('no' as unknown as boolean);
      req.setUsage('lots' as never);
      req.setUsage({ inputTokens: -4, outputTokens: Number.POSITIVE_INFINITY });
      req.phase('').end();
      req.phase('has spaces in it').end();
      req.phase(undefined as unknown as string).end();
      req.end('fine' as never);
    }).not.toThrow();
    diagnostics.stop();
    const c = await t.collect();
    expect(c.sums(M.requests)).toEqual([
      { attributes: { [ATTR.operationName]: 'chat', [ATTR.providerName]: 'openai_compatible', [ATTR.outcome]: 'success' }, value: 1 },
    ]);
    expect(c.total(M.tokens)).toBe(2);
    expect(c.metric(M.phaseDuration)).toBeUndefined();
    expectGaugesAtZero(c);
    const debug = diagnostics.ours('debug');
    expect(debug.length).toBeGreaterThanOrEqual(20);
    // Never a string's content: the rejected model names do not appear.
    expect(debug.join('\n')).not.toMatch(/has spaces|lots|reasoning/);
  });

  it('a MeterProvider that throws: the request records nothing and the app goes on', () => {
    const broken = { getMeter: () => { throw new Error('broken provider'); } };
    const req = startServerRequest({ meterProvider: broken as never });
    expect(req.ended).toBe(true);
    expect(() => {
      req.queued();
      req.phase('prefill')[Symbol.dispose]();
      req.tokens(1);
      req.end();
      req[Symbol.dispose]();
    }).not.toThrow();
  });
});

describe('real delays', () => {
  it('TTFT, TPOT, queue and phase times match the delays within the time measured around them', async () => {
    vi.restoreAllMocks();
    const arrival = performance.now();
    const req = startServerRequest({ meterProvider: t.provider, queued: true, stream: true, startTime: arrival });
    await sleep(20);
    const admittedAfter = performance.now();
    req.admitted();
    const admittedBefore = performance.now();
    const prefill = req.phase(PHASE.prefill);
    await sleep(30);
    prefill.end();
    const firstAfter = performance.now();
    req.firstToken();
    const firstBefore = performance.now();
    for (let i = 0; i < 4; i++) {
      await sleep(10);
      req.tokens(1);
    }
    req.tokens(1);
    const endAfter = performance.now();
    req.end();
    const endBefore = performance.now();

    const c = await t.collect();
    // Each recorded value lies between the clock read just before and just after its mark.
    const within = (value: number, low: number, high: number) => {
      expect(value).toBeGreaterThanOrEqual(low / 1000 - 1e-9);
      expect(value).toBeLessThanOrEqual(high / 1000 + 1e-9);
    };
    within(c.histogram(M.queueDuration).sum, admittedAfter - arrival, admittedBefore - arrival);
    expect(c.histogram(M.queueDuration).sum).toBeGreaterThanOrEqual(0.019);
    expect(c.histogram(M.phaseDuration).sum).toBeGreaterThanOrEqual(0.029);
    const ttft = c.histogram(M.timeToFirstToken).sum;
    within(ttft, firstAfter - arrival, firstBefore - arrival);
    const duration = c.histogram(M.requestDuration).sum;
    within(duration, endAfter - arrival, endBefore - arrival);
    expect(c.histogram(M.timePerOutputToken).sum).toBeCloseTo((duration - ttft) / 4, 12);
    expect(c.histogram(M.outputTokenRate).sum).toBeCloseTo(4 / (duration - ttft), 6);
    expectGaugesAtZero(c);
  });
});
