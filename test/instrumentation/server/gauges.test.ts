/** observeServerGauge: a server's own gauges, read at each collection, with the app's callback contained. */
import { DiagLogLevel } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { observeServerGauge, SERVER_GAUGE } from '../../../packages/instrumentation/src/index.js';
import { ATTR } from '../../../packages/instrumentation/src/semconv.js';
import { captureDiag, createTestMetrics, sleep, type TestMetrics } from '../../helpers/metrics.js';

let t: TestMetrics;
beforeEach(() => {
  t = createTestMetrics();
});
afterEach(async () => {
  await t.shutdown();
});

describe('observeServerGauge', () => {
  it('reads the callback at each collection, with the well-known gauge’s unit and description, until removed', async () => {
    let batch = 3;
    let calls = 0;
    const handle = observeServerGauge(
      SERVER_GAUGE.batchSize,
      () => {
        calls++;
        return batch;
      },
      { meterProvider: t.provider },
    );
    let c = await t.collect();
    const metric = c.metric(SERVER_GAUGE.batchSize.name)!;
    expect(metric.descriptor).toMatchObject({ unit: '{request}', description: SERVER_GAUGE.batchSize.description });
    expect(c.gauges(SERVER_GAUGE.batchSize.name)).toEqual([{ attributes: {}, value: 3 }]);
    batch = 7;
    expect((await t.collect()).gauges(SERVER_GAUGE.batchSize.name)).toEqual([{ attributes: {}, value: 7 }]);
    expect(calls).toBe(2);
    handle.remove();
    handle.remove();
    batch = 8;
    c = await t.collect();
    expect(calls).toBe(2);
    expect(c.gauges(SERVER_GAUGE.batchSize.name).map((p) => p.value)).not.toContain(8);
  });

  it('a name string of a well-known gauge takes its unit; a list of points gives one series each; async callbacks work', async () => {
    using _h = observeServerGauge(
      SERVER_GAUGE.queueSize.name,
      async () => {
        await sleep(1);
        return [
          { value: 4, attributes: { [ATTR.phase]: 'tokenize' } },
          { value: 1, attributes: { [ATTR.phase]: 'batch' } },
        ];
      },
      { meterProvider: t.provider },
    );
    const c = await t.collect();
    expect(c.metric(SERVER_GAUGE.queueSize.name)!.descriptor.unit).toBe('{request}');
    expect(c.gauges(SERVER_GAUGE.queueSize.name, { [ATTR.phase]: 'tokenize' })[0]!.value).toBe(4);
    expect(c.gauges(SERVER_GAUGE.queueSize.name, { [ATTR.phase]: 'batch' })[0]!.value).toBe(1);
  });

  it('an app gauge of its own: its unit, description and constant attributes; undefined gives no point', async () => {
    let value: number | undefined;
    const handle = observeServerGauge('myserver.gpu_slots.free', () => value, {
      unit: '{slot}',
      description: 'Free GPU slots.',
      attributes: { pool: 'a' },
      meterProvider: t.provider,
    });
    expect((await t.collect()).gauges('myserver.gpu_slots.free')).toEqual([]);
    value = 2;
    const c = await t.collect();
    expect(c.metric('myserver.gpu_slots.free')!.descriptor).toMatchObject({ unit: '{slot}', description: 'Free GPU slots.' });
    expect(c.gauges('myserver.gpu_slots.free')).toEqual([{ attributes: { pool: 'a' }, value: 2 }]);
    handle.remove();
  });

  it('a callback that throws or rejects, a value that is no number and a ratio outside 0..1 give no point, one warning each, and no collection error', async () => {
    const diagnostics = captureDiag(DiagLogLevel.WARN);
    const handles = [
      observeServerGauge('a.throws', () => { throw new Error('boom'); }, { meterProvider: t.provider }),
      observeServerGauge('a.rejects', () => Promise.reject(new TypeError('later')), { meterProvider: t.provider }),
      observeServerGauge('a.nan', () => Number.NaN, { meterProvider: t.provider }),
      observeServerGauge('a.string', () => '3' as unknown as number, { meterProvider: t.provider }),
      observeServerGauge(SERVER_GAUGE.kvCacheUtilization, () => 45, { meterProvider: t.provider }),
      observeServerGauge(SERVER_GAUGE.paddingRatio, () => [{ value: 0.25 }, { value: -0.1 }, null as never], { meterProvider: t.provider }),
    ];
    let c = await t.collect(); // asserts no collection error
    c = await t.collect();
    diagnostics.stop();
    for (const name of ['a.throws', 'a.rejects', 'a.nan', 'a.string', SERVER_GAUGE.kvCacheUtilization.name]) {
      expect(c.gauges(name), name).toEqual([]);
    }
    expect(c.gauges(SERVER_GAUGE.paddingRatio.name)).toEqual([{ attributes: {}, value: 0.25 }]);
    expect(c.metric(SERVER_GAUGE.paddingRatio.name)!.descriptor.unit).toBe('1');
    const warnings = diagnostics.ours('warn');
    expect(warnings).toHaveLength(6);
    expect(warnings.join('\n')).toMatch(/a\.throws.*Error: boom/);
    expect(warnings.join('\n')).toMatch(/outside 0\.\.1/);
    for (const handle of handles) handle.remove();
  });

  it('bad arguments and a broken MeterProvider never throw', () => {
    const broken = { getMeter: () => { throw new Error('broken'); } } as never;
    const diagnostics = captureDiag(DiagLogLevel.WARN);
    expect(() => {
      observeServerGauge(undefined as unknown as string, () => 1).remove();
      observeServerGauge('x', 'not a function' as never).remove();
      observeServerGauge('x', () => 1, { meterProvider: broken })[Symbol.dispose]();
    }).not.toThrow();
    diagnostics.stop();
    expect(diagnostics.ours('warn')).toHaveLength(3);
  });
});
