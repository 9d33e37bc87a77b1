/**
 * Host and process CPU and memory (@opentelemetry/instrumentation-host-metrics) through the real
 * preload: off in a process that only calls models, on from the first request a node:http server
 * serves on an inference route, OTEL_INFERENCE_HOST_METRICS either way, never on an app's own
 * MeterProvider; the values against the machine; and the Prometheus names of every system and
 * GPU metric on the embedded endpoint, against the library's table.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_ATTR, HOST_METRIC } from '../../../packages/instrumentation/src/semconv.js';
import { PROMETHEUS_GPU_METRIC, PROMETHEUS_HOST_METRIC } from '../../../packages/instrumentation/src/prometheus-names.js';
import { APPS, REPO, diagLines, run, start } from '../../helpers/apps.js';

const FAKE_BIN = path.join(REPO, 'test/fixtures/nvidia-smi/bin');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Output {
  metrics: Record<string, { unit: string; points: { attributes: Record<string, string>; value: number }[] }>;
  errors: string[];
  waited?: boolean;
  rss: number;
  calls: number;
}

async function runApp(env: Record<string, string>): Promise<{ stderr: string; out: Output }> {
  const res = await run({
    app: 'system-metrics.mjs',
    env: { OTEL_METRICS_EXPORTER: 'none', OTEL_INFERENCE_IN_PROCESS_READER: 'true', OTEL_INFERENCE_GPU_METRICS: 'false', SYSTEM_WAIT_MS: '20000', ...env },
  });
  expect(res.code, res.stderr).toBe(0);
  return { stderr: res.stderr, out: JSON.parse(res.stdout) as Output };
}

const hostNames = (out: Output): string[] => Object.keys(out.metrics).filter((n) => /^(system|process)\./.test(n)).sort();
const ALL_HOST = Object.values(HOST_METRIC).sort();

describe.concurrent('host metrics: when they are on', () => {
  it('a process that only calls models (default): none, and none for serving other routes', async () => {
    const { stderr, out } = await runApp({ SYSTEM_SERVE: 'health', SYSTEM_STAY_MS: '300' });
    expect(stderr).toBe('');
    expect(hostNames(out)).toEqual([]);
  });

  it('an inference server (default): on from the first POST to an inference route', async () => {
    const { stderr, out } = await runApp({ SYSTEM_SERVE: 'inference', SYSTEM_WAIT_FOR: HOST_METRIC.processMemoryUsage });
    expect(stderr).toBe('');
    expect(out.errors).toEqual([]);
    expect(hostNames(out)).toEqual(ALL_HOST);
  });

  it.each([
    ['routes that do not include it', '/generate'],
    ['none', 'none'],
  ])('OTEL_INFERENCE_SERVER_ROUTES with %s: serving does not turn them on', async (_what, routes) => {
    const { out } = await runApp({ SYSTEM_SERVE: 'inference', OTEL_INFERENCE_SERVER_ROUTES: routes, SYSTEM_STAY_MS: '300' });
    expect(hostNames(out)).toEqual([]);
  });

  it('OTEL_INFERENCE_SERVER_ROUTES naming the route: on', async () => {
    const { out } = await runApp({
      SYSTEM_SERVE: 'inference',
      OTEL_INFERENCE_SERVER_ROUTES: '/generate,/v1/chat/completions',
      SYSTEM_WAIT_FOR: HOST_METRIC.processMemoryUsage,
    });
    expect(hostNames(out)).toEqual(ALL_HOST);
  });

  it('OTEL_INFERENCE_HOST_METRICS=true: on from the start, in any process', async () => {
    const { stderr, out } = await runApp({ OTEL_INFERENCE_HOST_METRICS: 'true' });
    expect(stderr).toBe('');
    expect(hostNames(out)).toEqual(ALL_HOST);
  });

  it('OTEL_INFERENCE_HOST_METRICS=false: off, even in an inference server', async () => {
    const { out } = await runApp({ OTEL_INFERENCE_HOST_METRICS: 'false', SYSTEM_SERVE: 'inference', SYSTEM_STAY_MS: '300' });
    expect(hostNames(out)).toEqual([]);
  });

  it('a bad OTEL_INFERENCE_HOST_METRICS: one warning, and the default', async () => {
    const { stderr, out } = await runApp({ OTEL_INFERENCE_HOST_METRICS: '1', SYSTEM_SERVE: 'inference', SYSTEM_WAIT_FOR: HOST_METRIC.processMemoryUsage });
    expect(diagLines(stderr)).toEqual([
      'otel-inference: warn: OTEL_INFERENCE_HOST_METRICS="1" is invalid (expected \'true\' or \'false\'); using the default: on once the process serves an inference route',
    ]);
    expect(hostNames(out)).toEqual(ALL_HOST);
  });

  it('an app with its own MeterProvider: neither host nor GPU metrics (nor nvidia-smi) from register', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-inference-host-'));
    dirs.push(dir);
    const log = path.join(dir, 'calls.log');
    const { out } = await runApp({
      NODE_OPTIONS: `--require ${path.join(APPS, 'app-provider-setup.cjs')}`,
      OTEL_INFERENCE_HOST_METRICS: 'true',
      OTEL_INFERENCE_GPU_METRICS: 'true',
      PATH: `${FAKE_BIN}${path.delimiter}${process.env.PATH}`,
      FAKE_SMI_LOG: log,
      FAKE_SMI_STEPS: 'h100-80gb-hbm3.load.txt',
      SYSTEM_SERVE: 'inference',
      SYSTEM_STAY_MS: '300',
    });
    expect(Object.keys(out.metrics)).toEqual([]);
    expect(out.calls).toBe(0);
  });
});

describe('host metrics: the values', () => {
  it('match the machine: memory used + free is the total, one CPU series per logical CPU and mode, the RSS', async () => {
    // A 1 s window: the CPU times come in 10 ms ticks, which a short window turns into percents.
    const { out } = await runApp({ OTEL_INFERENCE_HOST_METRICS: 'true', SYSTEM_BEFORE_MS: '1000' });
    expect(out.errors).toEqual([]);
    const m = out.metrics;

    const memory = Object.fromEntries(m[HOST_METRIC.systemMemoryUsage]!.points.map((p) => [p.attributes[HOST_ATTR.systemMemoryState], p.value]));
    expect(memory.used! + memory.free!).toBe(os.totalmem());
    const utilization = m[HOST_METRIC.systemMemoryUtilization]!.points.map((p) => p.value);
    expect(utilization.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);

    const cpus = os.cpus().length;
    const cpuTime = m[HOST_METRIC.systemCpuTime]!.points;
    expect(cpuTime).toHaveLength(cpus * 5);
    expect(new Set(cpuTime.map((p) => p.attributes[HOST_ATTR.cpuMode]))).toEqual(new Set(['user', 'system', 'idle', 'interrupt', 'nice']));
    expect(new Set(cpuTime.map((p) => p.attributes[HOST_ATTR.cpuLogicalNumber]))).toEqual(new Set([...Array(cpus).keys()].map(String)));
    expect(m[HOST_METRIC.systemCpuTime]!.unit).toBe('s');
    for (const p of m[HOST_METRIC.systemCpuUtilization]!.points) {
      expect(p.value).toBeGreaterThanOrEqual(0);
      expect(p.value).toBeLessThanOrEqual(1.05);
    }

    // The RSS at the collect and at the end of the app, a few ms apart.
    const [rss] = m[HOST_METRIC.processMemoryUsage]!.points.map((p) => p.value);
    expect(Math.abs(rss! - out.rss) / out.rss).toBeLessThan(0.25);
    const processCpu = Object.fromEntries(m[HOST_METRIC.processCpuTime]!.points.map((p) => [p.attributes[HOST_ATTR.cpuMode], p.value]));
    expect(processCpu.user).toBeGreaterThan(0);
    expect(processCpu.user! + processCpu.system!).toBeLessThan(60);
  });
});

describe('Prometheus names on the embedded endpoint', () => {
  it('every host and GPU metric under the name and type of the library table (the collector naming)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'otel-inference-host-'));
    dirs.push(dir);
    const app = start({
      app: 'prometheus-endpoint.mjs',
      env: {
        OTEL_METRICS_EXPORTER: 'prometheus',
        OTEL_EXPORTER_PROMETHEUS_PORT: '0',
        OTEL_INFERENCE_HOST_METRICS: 'true',
        PATH: `${FAKE_BIN}${path.delimiter}${process.env.PATH}`,
        FAKE_SMI_LOG: path.join(dir, 'calls.log'),
        FAKE_SMI_STEPS: 'multi-gpu-mig-na.txt',
        FIXTURE_RUN_MS: '30000',
      },
    });
    let stdout = '';
    app.child.stdout!.on('data', (d: string) => (stdout += d));
    await app.waitForOutput('port ');
    const port = Number(/port (\d+)/.exec(stdout)![1]);
    const scrape = (): Promise<string> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
    // The first nvidia-smi poll runs beside the first scrapes.
    let body = await scrape();
    for (const deadline = Date.now() + 15_000; !body.includes('hw_gpu_') && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      body = await scrape();
    }
    const types = Object.fromEntries(
      [...body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].filter((t) => /^(system|process|hw)_/.test(t[1]!)).map((t) => [t[1], t[2]]),
    );
    const expected = Object.fromEntries([...Object.values(PROMETHEUS_HOST_METRIC), ...Object.values(PROMETHEUS_GPU_METRIC)].map((m) => [m.name, m.type]));
    expect(types).toEqual(expected);
    expect(body).toMatch(/^hw_gpu_memory_usage_bytes\{[^}]*hw_name="GPU 1"[^}]*\} 11665408000$/m);
    expect(body).toMatch(/^system_cpu_time_seconds_total\{[^}]*cpu_mode="idle"[^}]*cpu_logical_number="0"[^}]*\} \d/m);
    app.child.kill('SIGTERM');
    expect((await app.done).signal).toBe('SIGTERM');
  });
});
