/**
 * The explicit server API under the preload: served requests record beside the client-side ones
 * (which go through register's aggregator) into the same MeterProvider and scope, and a shutdown
 * (beforeExit, SIGTERM) ends the ones still open, from another copy of the library, so that the
 * last export shows no request active or waiting.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { PROMETHEUS_SERVER_GAUGE, PROMETHEUS_SERVER_METRIC } from '../../../packages/instrumentation/src/prometheus-names.js';
import { SERVER_GAUGE, SERVER_METRIC } from '../../../packages/instrumentation/src/semconv.js';
import { run, start } from '../../helpers/apps.js';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';

/** The last export's view of the served requests. */
function summary(points: Point[]) {
  const of = (metric: string) => points.filter((p) => p.metric === metric);
  const sum = (metric: string) => of(metric).reduce((n, p) => n + p.value, 0);
  const requests: Record<string, number> = {};
  for (const p of of(SERVER_METRIC.requests)) {
    const key = `${p.attributes['inference.outcome']}/${p.attributes['error.type'] ?? '-'}/${p.attributes['gen_ai.request.model']}`;
    requests[key] = (requests[key] ?? 0) + p.value;
  }
  const phases: Record<string, number> = {};
  for (const p of of(SERVER_METRIC.phaseDuration)) phases[String(p.attributes['inference.phase'])] = p.value;
  return {
    requests,
    active: sum(SERVER_METRIC.activeRequests),
    waiting: sum(SERVER_METRIC.waitingRequests),
    durations: sum(SERVER_METRIC.requestDuration),
    ttft: of(SERVER_METRIC.timeToFirstToken).map((p) => p.value),
    tpot: of(SERVER_METRIC.timePerOutputToken).map((p) => p.value),
    queue: sum(SERVER_METRIC.queueDuration),
    phases,
    tokens: Object.fromEntries(['input', 'output'].map((type) => [type, of(SERVER_METRIC.tokens).filter((p) => p.attributes['gen_ai.token.type'] === type).reduce((n, p) => n + p.value, 0)])),
    kvCache: of(SERVER_GAUGE.kvCacheUtilization.name).map((p) => p.value),
    clientRequests: sum('inference.requests'),
    scopes: [...new Set(points.filter((p) => p.metric !== 'fixture.calls').map((p) => p.scope))],
  };
}

const EXPECTED = {
  requests: { 'success/-/served': 1, 'cancelled/shutdown/left-waiting': 1, 'cancelled/shutdown/left-decoding': 1 },
  active: 0,
  waiting: 0,
  durations: 3,
  ttft: [1],
  tpot: [1],
  // the served one's wait, and the time the left-waiting one waited until the shutdown
  queue: 2,
  phases: { prefill: 1, decode: 1 },
  tokens: { input: 7, output: 5 + 3 },
  kvCache: [0.5],
  clientRequests: 1,
  scopes: ['otel-inference'],
};

describe.concurrent('served requests under the preload', () => {
  it('beforeExit: the open ones end as cancelled (shutdown); the last export has every series, active and waiting at 0', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const res = await run({ app: 'server-requests.cjs', loader: 'import', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      const points = receiver.points();
      expect(summary(points)).toEqual(EXPECTED);
      const ttft = points.find((p) => p.metric === SERVER_METRIC.timeToFirstToken)!;
      // queued 20 ms, prefill 30 ms: the first token came at least 50 ms after the arrival.
      expect(ttft.sum).toBeGreaterThanOrEqual(0.05);
      expect(ttft.attributes).toEqual({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'fixture_server',
        'gen_ai.request.model': 'served',
        'gen_ai.request.stream': true,
        'gen_ai.response.model': 'served',
        'server.address': '127.0.0.1',
        'server.port': 8000,
      });
    } finally {
      await receiver.close();
    }
  });

  it('SIGTERM: the same, and the exit is the signal’s', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const app = start({ app: 'server-requests.cjs', loader: 'import', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, FIXTURE_MODE: 'wait' } });
      await app.waitForOutput('ready');
      app.child.kill('SIGTERM');
      const res = await app.done;
      expect(res.signal, res.stderr).toBe('SIGTERM');
      expect(summary(receiver.points())).toEqual(EXPECTED);
    } finally {
      await receiver.close();
    }
  });

  it('the embedded Prometheus endpoint names the served series as the table says', async () => {
    const app = start({
      app: 'server-requests.cjs',
      loader: 'import',
      env: { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: '0', FIXTURE_MODE: 'scrape', FIXTURE_RUN_MS: '3000' },
    });
    let stdout = '';
    app.child.stdout!.on('data', (d: string) => (stdout += d));
    await app.waitForOutput('port ');
    const port = Number(/port (\d+)/.exec(stdout)![1]);
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => (text += d));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    const types = new Set([...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`));
    for (const metric of Object.values(PROMETHEUS_SERVER_METRIC)) expect(types, metric.name).toContain(`${metric.name} ${metric.type}`);
    expect(types).toContain(`${PROMETHEUS_SERVER_GAUGE.kvCacheUtilization.name} gauge`);
    expect(body).toContain('inference_requests_total{');
    const res = await app.done;
    expect(res.code, res.stderr).toBe(0);
  });
});
