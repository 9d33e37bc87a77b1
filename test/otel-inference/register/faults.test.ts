/**
 * A collector that is down, hanging, failing or throttling never holds the app: it exits by
 * itself within the export timeout (plus a margin) of its last statement, measured against the
 * same app without the preload in the same run; at most one export is in flight; a collector
 * gets about one request per interval, Retry-After honoured; one warning per failure streak.
 */
import { describe, expect, it } from 'vitest';
import { diagLines, freePort, start, type RunResult } from '../../helpers/apps.js';
import { startFaultCollector, type Fault, type FaultCollector } from '../../helpers/fault-collector.js';
import { startOtlpReceiver } from '../../helpers/otlp-receiver.js';

/** What a loaded 2-core machine may add to an exit, beyond the export timeout. */
const MARGIN_MS = 1500;

interface Exit {
  res: RunResult;
  /** From the app's last statement to the process's end. */
  lagMs: number;
}

async function runToExit(env: Record<string, string>, loader?: 'none'): Promise<Exit> {
  const app = start({ app: 'busy.mjs', env, ...(loader ? { loader } : {}), timeoutMs: 30_000 });
  const res = await app.done;
  const closedAt = Date.now();
  const last = /last statement (\d+)/.exec(res.stdout);
  expect(last, `${res.stdout}\n${res.stderr}`).not.toBeNull();
  return { res, lagMs: closedAt - Number(last![1]) };
}

const CASES: { name: string; fault: Fault | 'down'; interval: number }[] = [
  { name: 'down (connection refused)', fault: 'down', interval: 200 },
  { name: 'down (connection refused)', fault: 'down', interval: 3000 },
  { name: 'accepting and never answering', fault: { kind: 'hang' }, interval: 200 },
  { name: 'accepting and never answering', fault: { kind: 'hang' }, interval: 3000 },
  { name: 'answering 503', fault: { kind: 'status', status: 503 }, interval: 200 },
  { name: 'answering 429, Retry-After: 1', fault: { kind: 'status', status: 429, retryAfter: '1' }, interval: 200 },
  { name: 'answering 429, Retry-After: 1', fault: { kind: 'status', status: 429, retryAfter: '1' }, interval: 3000 },
  { name: 'answering 429, Retry-After: 0', fault: { kind: 'status', status: 429, retryAfter: '0' }, interval: 200 },
];

describe.concurrent('a collector that is down, hanging or throttling', () => {
  it.each(CASES)('$name, interval $interval ms, OTLP timeout 60 s: exits within the export timeout, one request at a time', async ({ fault, interval }) => {
    const collector: FaultCollector | undefined = fault === 'down' ? undefined : await startFaultCollector(fault);
    const url = collector?.url ?? `http://127.0.0.1:${await freePort()}`;
    const runMs = 2500;
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_TIMEOUT: '60000',
      OTEL_METRIC_EXPORT_INTERVAL: String(interval),
      FIXTURE_RUN_MS: String(runMs),
    };
    try {
      const [withPreload, without] = await Promise.all([runToExit(env), runToExit(env, 'none')]);
      expect(withPreload.res.code, withPreload.res.stderr).toBe(0);
      // The export timeout is the interval here (OTEL_METRIC_EXPORT_TIMEOUT's 30 s, capped).
      expect(withPreload.lagMs).toBeLessThan(without.lagMs + interval + MARGIN_MS);
      const lines = diagLines(withPreload.res.stderr);
      expect(lines, withPreload.res.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^otel-inference: warn: metrics export (failed|skipped|at shutdown did not finish)/);
      expect(withPreload.res.stderr).not.toMatch(/\n\s+at /);
      if (collector !== undefined) {
        expect(collector.maxInFlight).toBe(1);
        // One per interval during the run, plus the final flush; Retry-After: 1 spaces them a second apart.
        const retryAfter = fault !== 'down' && fault.kind === 'status' && fault.retryAfter === '1' ? 1000 : 0;
        const budget = Math.floor(runMs / Math.max(interval, retryAfter)) + 2;
        expect(collector.arrivals.length).toBeGreaterThanOrEqual(1);
        expect(collector.arrivals.length).toBeLessThanOrEqual(budget);
      }
    } finally {
      await collector?.close();
    }
  });

  // A minute of wall time: on the primary Node.js line only (vitest.config.ts LINE_INDEPENDENT).
  it.skipIf(process.env.OTEL_INFERENCE_TEST_SCOPE === 'runtime')('over 60 s against a hanging collector, heap and handles stay flat', async () => {
    const collector = await startFaultCollector({ kind: 'hang' });
    try {
      const app = start({
        app: 'busy.mjs',
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
          OTEL_METRIC_EXPORT_INTERVAL: '100',
          FIXTURE_RUN_MS: '60000',
          FIXTURE_SAMPLE_AT: '10000,59000',
          NODE_OPTIONS: '--expose-gc',
        },
        timeoutMs: 90_000,
      });
      const res = await app.done;
      expect(res.code, res.stderr).toBe(0);
      const samples = res.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { sample: number; heapUsed: number; resources: number });
      expect(samples.map((s) => s.sample)).toEqual([10_000, 59_000]);
      const [early, late] = samples as [(typeof samples)[0], (typeof samples)[0]];
      // Hundreds of requests to a collector that never answers (at most one every interval).
      expect(collector.arrivals.length).toBeGreaterThan(100);
      expect(collector.maxInFlight).toBe(1);
      expect(late.resources).toBeLessThanOrEqual(early.resources + 2);
      expect(late.heapUsed).toBeLessThan(early.heapUsed * 1.25 + 2 * 1024 * 1024);
    } finally {
      await collector.close();
    }
  }, 120_000);
});

describe.concurrent('what the exporter reports, and where it sends', () => {
  it('a 200 whose body is not an OTLP response: one warning line for the streak, no stack, no body bytes', async () => {
    const collector = await startFaultCollector({ kind: 'garbage' });
    try {
      const { res } = await runToExit({
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_METRIC_EXPORT_INTERVAL: '100',
        FIXTURE_RUN_MS: '2000',
      });
      expect(collector.arrivals.length).toBeGreaterThan(5);
      expect(res.stderr).toBe(
        'otel-inference: warn: metrics export failed: the response is not an OTLP response (is the endpoint an OTLP receiver?) ' +
          '(further export errors are not logged until an export succeeds)\n',
      );
    } finally {
      await collector.close();
    }
  });

  it('OTEL_LOG_LEVEL=debug: the same failure with the detail, for whoever asked for it', async () => {
    const collector = await startFaultCollector({ kind: 'garbage' });
    try {
      const { res } = await runToExit({
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_METRIC_EXPORT_INTERVAL: '100',
        OTEL_LOG_LEVEL: 'debug',
        FIXTURE_RUN_MS: '500',
      });
      expect(res.stderr).toContain('metrics export failed: the response is not an OTLP response');
      expect(diagLines(res.stderr).length).toBeGreaterThan(1);
    } finally {
      await collector.close();
    }
  });

  it.each([
    { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'not a url', to: 'http://localhost:4318/v1/metrics' },
    { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'ftp://collector:4318', to: 'http://localhost:4318/v1/metrics' },
    { name: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', value: 'collector:4318/v1/metrics', to: 'http://localhost:4318/v1/metrics' },
  ])('$name=$value: one warning naming the variable and the default used, and a prompt exit', async ({ name, value, to }) => {
    // Nothing listens on the default endpoint here: the exit is as prompt as with any collector down.
    const env = { [name]: value, FIXTURE_RUN_MS: '300', OTEL_METRIC_EXPORT_INTERVAL: '1000' };
    const [withPreload, without] = await Promise.all([runToExit(env), runToExit(env, 'none')]);
    expect(withPreload.res.code).toBe(0);
    expect(diagLines(withPreload.res.stderr)[0]).toBe(
      `otel-inference: warn: ${name}=${JSON.stringify(value)} is invalid (expected an http:// or https:// URL); metrics go to ${to}`,
    );
    expect(withPreload.lagMs).toBeLessThan(without.lagMs + 1000 + MARGIN_MS);
  });

  it('an invalid OTEL_EXPORTER_OTLP_METRICS_ENDPOINT falls back to a valid OTEL_EXPORTER_OTLP_ENDPOINT, as the spec orders them', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const { res } = await runToExit({
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'not a url',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        FIXTURE_RUN_MS: '100',
      });
      expect(diagLines(res.stderr)).toEqual([
        `otel-inference: warn: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="not a url" is invalid (expected an http:// or https:// URL); metrics go to ${receiver.url}/v1/metrics`,
      ]);
      expect(receiver.points().filter((p) => p.metric === 'fixture.calls').length).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});

describe('the final flush', () => {
  it('an export still in flight at the exit is followed by the final one, not skipped: nothing recorded is lost', async () => {
    // Each request takes 500 ms; the app ends 200 ms into the export of t = 2 s.
    const receiver = await startOtlpReceiver({ delayMs: 500 });
    try {
      const { res } = await runToExit({
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_METRIC_EXPORT_INTERVAL: '2000',
        FIXTURE_RUN_MS: '2200',
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      const calls = Number(/calls (\d+)/.exec(res.stdout)![1]);
      const exported = receiver.points().filter((p) => p.metric === 'fixture.calls').map((p) => p.value);
      expect(exported.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...exported)).toBe(calls);
    } finally {
      await receiver.close();
    }
  });
});

