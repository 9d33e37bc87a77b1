/**
 * Shutdown with calls in flight: on SIGTERM, SIGINT, beforeExit and an explicit shutdown(),
 * every request still open ends once as cancelled with error.type shutdown before the final
 * flush, and the last export shows no request active.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimServer, type SimServer } from '../../../sim/index.js';
import { run, start } from '../../helpers/apps.js';
import { startOtlpReceiver, type OtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';

let sim: SimServer;
beforeAll(async () => {
  sim = await startSimServer({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

/** inference.requests by outcome and error.type, and inference.requests.active, as last exported. */
function summary(points: Point[]) {
  const requests: Record<string, number> = {};
  for (const p of points.filter((x) => x.metric === 'inference.requests')) {
    const key = `${p.attributes['inference.outcome']}/${p.attributes['error.type'] ?? '-'}/${p.attributes['gen_ai.request.model']}`;
    requests[key] = (requests[key] ?? 0) + p.value;
  }
  const active = points.filter((x) => x.metric === 'inference.requests.active').reduce((n, p) => n + p.value, 0);
  const durations = points.filter((x) => x.metric === 'gen_ai.client.operation.duration').reduce((n, p) => n + p.value, 0);
  return { requests, active, durations };
}

const EXPECTED = {
  requests: {
    'success/-/done-model': 3,
    'cancelled/shutdown/stream-model': 6,
    'cancelled/shutdown/unary-model': 2,
  },
  active: 0,
  durations: 11,
};

describe.concurrent('shutdown with calls in flight', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s: the 8 open calls end as cancelled (shutdown), active is 0, the exit is the signal’s', async (signal) => {
    const receiver: OtlpReceiver = await startOtlpReceiver();
    try {
      const app = start({
        app: 'in-flight.mjs',
        env: { SIM_URL: sim.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, NODE_OPTIONS: '--expose-gc' },
      });
      await app.waitForOutput('ready');
      app.child.kill(signal);
      const res = await app.done;
      expect(res.signal, res.stderr).toBe(signal);
      expect(res.stderr).toBe('');
      expect(summary(receiver.points())).toEqual(EXPECTED);
    } finally {
      await receiver.close();
    }
  });

  it('an explicit shutdown() ends them the same way', async () => {
    const receiver: OtlpReceiver = await startOtlpReceiver();
    try {
      const res = await run({
        app: 'in-flight.mjs',
        env: { SIM_URL: sim.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, FIXTURE_END: 'shutdown', NODE_OPTIONS: '--expose-gc' },
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe('ready\nshut down\n');
      expect(summary(receiver.points())).toEqual(EXPECTED);
    } finally {
      await receiver.close();
    }
  });

  it('beforeExit: trackers never ended are cancelled (shutdown) in the last export', async () => {
    const receiver: OtlpReceiver = await startOtlpReceiver();
    try {
      const res = await run({ app: 'open-trackers.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
      expect(res.code, res.stderr).toBe(0);
      expect(summary(receiver.points())).toEqual({
        requests: { 'success/-/ended': 1, 'cancelled/shutdown/left-open': 2 },
        active: 0,
        durations: 3,
      });
    } finally {
      await receiver.close();
    }
  });
});
