import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelOpenRequests } from '../../../packages/instrumentation/src/index.js';
import { ATTR, METRIC } from '../../../packages/instrumentation/src/semconv.js';
import { chatChunk, createTestMetrics, sleep, type TestMetrics } from '../../helpers/metrics.js';

let t: TestMetrics;
beforeEach(() => {
  // Whatever another test of this process left open is none of this test's business.
  cancelOpenRequests();
  t = createTestMetrics();
});
afterEach(async () => {
  await t.shutdown();
});

const req = (model: string) => ({ provider: 'vllm', model });
const shutdown = { [ATTR.outcome]: 'cancelled', [ATTR.errorType]: 'shutdown' };

describe('cancelOpenRequests', () => {
  it('ends every open request once as cancelled/shutdown, leaves ended ones alone, and ignores later ends', async () => {
    // Ended before the shutdown: recorded as it ended, and not touched again.
    const done = t.metrics.startRequest(req('done'));
    done.end({ usage: { inputTokens: 2 } });
    const failed = t.metrics.startRequest(req('failed'));
    failed.fail(Object.assign(new Error('x'), { status: 500 }));

    // Open: a call still pending, a stream mid-way and a hand-made tracker.
    let answer!: (value: unknown) => void;
    const pending = t.metrics.instrumentCall(req('call'), () => new Promise((resolve) => (answer = resolve)));
    const chunks = [chatChunk.content('a'), chatChunk.content('b'), chatChunk.content('c'), chatChunk.usage(5, 3)];
    const stream = t.metrics.instrumentStream(
      req('stream'),
      (async function* () {
        yield* chunks;
      })(),
    );
    expect((await stream.next()).value).toBe(chunks[0]);
    await sleep(5);
    expect((await stream.next()).value).toBe(chunks[1]);
    const tracker = t.metrics.startRequest(req('tracker'), { stream: true });
    tracker.output();
    expect((await t.collect()).total(METRIC.activeRequests)).toBe(3);

    expect(cancelOpenRequests()).toBe(3);
    expect(tracker.ended).toBe(true);
    expect(cancelOpenRequests()).toBe(0);

    const c = await t.collect();
    expect(c.total(METRIC.activeRequests)).toBe(0);
    for (const model of ['call', 'stream', 'tracker']) {
      const points = c.sums(METRIC.requests, { [ATTR.requestModel]: model });
      expect(points, model).toHaveLength(1);
      expect(points[0]!.attributes).toMatchObject(shutdown);
      expect(points[0]!.value).toBe(1);
      expect(c.histogram(METRIC.operationDuration, { [ATTR.requestModel]: model, ...shutdown }).count).toBe(1);
    }
    // What the stream saw before the shutdown is kept: its first chunk and the gap to the second.
    expect(c.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: 'stream' }).count).toBe(1);
    expect(c.sums(METRIC.requests, { [ATTR.requestModel]: 'done' }).map((p) => p.attributes[ATTR.outcome])).toEqual(['success']);
    expect(c.sums(METRIC.requests, { [ATTR.requestModel]: 'failed' }).map((p) => p.attributes[ATTR.errorType])).toEqual(['500']);
    expect(c.total(METRIC.requests)).toBe(5);

    // The requests go on for their callers, and their ends record nothing more.
    answer({ usage: { prompt_tokens: 4, completion_tokens: 9 } });
    await expect(pending).resolves.toEqual({ usage: { prompt_tokens: 4, completion_tokens: 9 } });
    const rest: unknown[] = [];
    for (let r = await stream.next(); r.done !== true; r = await stream.next()) rest.push(r.value);
    expect(rest).toEqual(chunks.slice(2));
    tracker.output();
    tracker.end({ usage: { outputTokens: 7 } });
    tracker.fail(new Error('late'));
    await sleep(0);

    const after = await t.collect();
    expect(after.total(METRIC.requests)).toBe(5);
    expect(after.total(METRIC.requests, shutdown)).toBe(3);
    expect(after.total(METRIC.activeRequests)).toBe(0);
    expect(after.histograms(METRIC.operationDuration, shutdown).map((p) => p.count)).toEqual([1, 1, 1]);
    expect(after.histogram(METRIC.timePerOutputChunk, { [ATTR.requestModel]: 'stream' }).count).toBe(1);
    expect(after.metric(METRIC.timeToFirstChunk)!.dataPoints).toHaveLength(2);
    // Only the ended request's own usage: nothing reported after the shutdown.
    expect(after.histograms(METRIC.tokenUsage).map((p) => [p.attributes[ATTR.requestModel], p.sum])).toEqual([['done', 2]]);
    expect(after.metric(METRIC.outputTokenRate)).toBeUndefined();
  });

  it('takes the reason given as error.type', async () => {
    t.metrics.startRequest(req('m'));
    expect(cancelOpenRequests('deadline')).toBe(1);
    const c = await t.collect();
    expect(c.total(METRIC.requests, { [ATTR.outcome]: 'cancelled', [ATTR.errorType]: 'deadline' })).toBe(1);
    expect(c.total(METRIC.activeRequests)).toBe(0);
  });
});
