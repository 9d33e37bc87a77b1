/**
 * The GPU gauges through the real preload, with a fake nvidia-smi on PATH
 * (test/fixtures/nvidia-smi/bin) playing recorded output: the values and attributes per GPU,
 * a poll on every export interval, a hung nvidia-smi (killed at the timeout, never holding the
 * process or a collect), failures after a success (one warning), no nvidia-smi (nothing,
 * silently), the switch, and shutdown (no call after it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GPU_ATTR, GPU_METRIC } from '../../../packages/instrumentation/src/semconv.js';
import { REPO, diagLines, run, type RunResult } from '../../helpers/apps.js';

const FAKE_BIN = path.join(REPO, 'test/fixtures/nvidia-smi/bin');
const MIB = 1024 * 1024;
const dirs: string[] = [];

afterAll(() => {
  // The hung fake nvidia-smis the tests left behind (the preload kills the ones it times out).
  for (const dir of dirs) {
    for (const pid of pids(path.join(dir, 'calls.log'))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

function pids(log: string): number[] {
  try {
    return readFileSync(`${log}.pids`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Output {
  metrics: Record<string, { unit: string; points: { attributes: Record<string, string>; value: number }[] }>;
  errors: string[];
  collectMs: number;
  waited?: boolean;
  calls: number;
  callsAtShutdown?: number;
  /** When the app ran its last statement (epoch ms). */
  endedAt: number;
}

interface Scenario {
  /** The fake's steps (see its header); undefined: no nvidia-smi on PATH at all. */
  steps?: string;
  env?: Record<string, string>;
}

async function runApp({ steps, env = {} }: Scenario): Promise<{ res: RunResult; out: Output; log: string; exitLagMs: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'otel-inference-gpu-'));
  dirs.push(dir);
  const log = path.join(dir, 'calls.log');
  const res = await run({
    app: 'system-metrics.mjs',
    env: {
      // Without the fake, a PATH with nothing on it: no nvidia-smi, whatever this machine has.
      PATH: steps === undefined ? dir : `${FAKE_BIN}${path.delimiter}${process.env.PATH}`,
      FAKE_SMI_LOG: log,
      FAKE_SMI_STEPS: steps,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_INFERENCE_IN_PROCESS_READER: 'true',
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      SYSTEM_WAIT_MS: '20000',
      ...env,
    },
  });
  const closedAt = Date.now();
  expect(res.code, res.stderr).toBe(0);
  const out = JSON.parse(res.stdout) as Output;
  return { res, out, log, exitLagMs: closedAt - out.endedAt };
}

const byGpu = (out: Output, name: string): Record<string, number> =>
  Object.fromEntries((out.metrics[name]?.points ?? []).map((p) => [p.attributes[GPU_ATTR.name], p.value]));

describe.concurrent('GPU gauges from nvidia-smi', () => {
  it('reports memory used and total, memory and GPU utilization per GPU, with the hw.* attributes', async () => {
    const { res, out } = await runApp({ steps: 'multi-gpu-mig-na.txt', env: { SYSTEM_WAIT_FOR: GPU_METRIC.memoryUsage } });
    expect(res.stderr).toBe('');
    expect(out.errors).toEqual([]);
    expect(byGpu(out, GPU_METRIC.memoryUsage)).toEqual({ 'GPU 0': 19818 * MIB, 'GPU 1': 11125 * MIB, 'GPU 2': 0 });
    expect(byGpu(out, GPU_METRIC.memoryLimit)).toEqual({ 'GPU 0': 81559 * MIB, 'GPU 1': 81559 * MIB, 'GPU 2': 81559 * MIB });
    expect(byGpu(out, GPU_METRIC.memoryUtilization)).toEqual({ 'GPU 0': 19818 / 81559, 'GPU 1': 11125 / 81559, 'GPU 2': 0 });
    // GPU 1 is in MIG mode: no utilization rather than a made-up 0
    expect(byGpu(out, GPU_METRIC.utilization)).toEqual({ 'GPU 0': 1, 'GPU 2': 0 });
    expect(out.metrics[GPU_METRIC.memoryUsage]?.unit).toBe('By');
    expect(out.metrics[GPU_METRIC.utilization]?.unit).toBe('1');
    expect(out.metrics[GPU_METRIC.memoryUsage]?.points[1]?.attributes).toEqual({
      'hw.type': 'gpu',
      'hw.id': 'GPU-00000001-0000-0000-0000-000000000001',
      'hw.name': 'GPU 1',
      'hw.vendor': 'NVIDIA',
      'hw.model': 'NVIDIA H100 80GB HBM3',
      'hw.driver_version': '590.48.01',
    });
  });

  it('polls again on every export interval: the gauges follow the card', async () => {
    const { res, out } = await runApp({
      steps: 'h100-80gb-hbm3.idle.txt h100-80gb-hbm3.idle.txt h100-80gb-hbm3.load.txt',
      env: { OTEL_METRIC_EXPORT_INTERVAL: '300', SYSTEM_WAIT_FOR: `${GPU_METRIC.utilization}=1` },
    });
    expect(res.stderr).toBe('');
    expect(out.waited).toBe(true);
    expect(byGpu(out, GPU_METRIC.memoryUsage)).toEqual({ 'GPU 0': 19818 * MIB });
    // the third call, two intervals after the first (a fourth may have started meanwhile)
    expect(out.calls).toBeGreaterThanOrEqual(3);
  });

  it('no nvidia-smi: no GPU metric, no line on stderr, even at info level', async () => {
    const { res, out } = await runApp({ env: { OTEL_LOG_LEVEL: 'info', SYSTEM_STAY_MS: '500' } });
    expect(res.stderr).toBe('');
    expect(Object.keys(out.metrics).filter((n) => n.startsWith('hw.'))).toEqual([]);
  });

  it.each([
    ['no GPU (exit 6)', 'no-devices.txt@6'],
    ['no driver (exit 9)', 'driver-not-loaded.txt@9'],
  ])('nvidia-smi finds %s: nothing, silently, and it is not asked again', async (_what, steps) => {
    const { res, out } = await runApp({ steps, env: { OTEL_METRIC_EXPORT_INTERVAL: '100', SYSTEM_STAY_MS: '600' } });
    expect(res.stderr).toBe('');
    expect(Object.keys(out.metrics).filter((n) => n.startsWith('hw.'))).toEqual([]);
    expect(out.calls).toBe(1);
  });

  it('a hung nvidia-smi never holds the process: the app ends at once, whatever the timeout', async () => {
    // Default interval (60 s): the poll would wait 10 s for nvidia-smi.
    const { res, out, log, exitLagMs } = await runApp({ steps: 'hang', env: { OTEL_METRIC_EXPORT_INTERVAL: '60000' } });
    expect(res.stderr).toBe('');
    expect(out.calls).toBe(1);
    // from the app's last statement to the process's end: nothing waits for nvidia-smi
    expect(exitLagMs).toBeLessThan(2000);
    // The hung nvidia-smi outlives the app (it is not waited for): on a busy machine it may write
    // its pid only after the app has gone.
    for (let waited = 0; pids(log).length === 0 && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(pids(log)).toHaveLength(1);
  });

  it('a hung nvidia-smi is killed at the timeout, one at a time; collects do not wait for it', async () => {
    // interval 200 ms: the timeout is its floor, 1 s
    const { res, out, log } = await runApp({ steps: 'hang', env: { OTEL_METRIC_EXPORT_INTERVAL: '200', SYSTEM_STAY_MS: '2600' } });
    expect(out.collectMs).toBeLessThan(100);
    expect(diagLines(res.stderr)).toEqual([
      'otel-inference: warn: GPU metrics: nvidia-smi did not answer within 1000 ms; the GPU gauges get no new value until it answers again',
    ]);
    expect(Object.keys(out.metrics)).toEqual([]);
    // killed at each timeout, the next started after: never two at once, never one left running
    const started = pids(log);
    expect(started.length).toBeGreaterThanOrEqual(2);
    expect(started.length).toBeLessThanOrEqual(3);
    expect(started.slice(0, -1).filter(alive)).toEqual([]);
  });

  it('failing after a success: one warning per streak, and one when it answers again', async () => {
    const { res, out, log } = await runApp({
      steps: 'h100-80gb-hbm3.load.txt hang hang driver-not-loaded.txt@9 h100-80gb-hbm3.idle.txt',
      env: { OTEL_METRIC_EXPORT_INTERVAL: '200', SYSTEM_WAIT_FOR: `${GPU_METRIC.utilization}=0` },
    });
    expect(out.waited).toBe(true);
    expect(diagLines(res.stderr)).toEqual([
      'otel-inference: warn: GPU metrics: nvidia-smi did not answer within 1000 ms; the GPU gauges get no new value until it answers again',
      'otel-inference: info: GPU metrics: nvidia-smi answers again',
    ]);
    expect(pids(log).filter(alive)).toEqual([]);
  });

  it('a GPU lost among others: the others are reported, the error line once as a warning', async () => {
    const { res, out } = await runApp({ steps: 'gpu-lost.txt@15', env: { SYSTEM_WAIT_FOR: GPU_METRIC.memoryUsage, SYSTEM_STAY_MS: '500' } });
    expect(byGpu(out, GPU_METRIC.memoryUsage)).toEqual({ 'GPU 0': 19818 * MIB, 'GPU 2': 0 });
    expect(diagLines(res.stderr)).toEqual(['otel-inference: warn: nvidia-smi: Unable to determine the device handle for GPU1: 0000:34:00.0: Unknown Error']);
  });

  it('OTEL_INFERENCE_GPU_METRICS=false: nvidia-smi is never run', async () => {
    const { res, out } = await runApp({
      steps: 'h100-80gb-hbm3.load.txt',
      env: { OTEL_INFERENCE_GPU_METRICS: 'false', OTEL_METRIC_EXPORT_INTERVAL: '100', SYSTEM_STAY_MS: '500' },
    });
    expect(res.stderr).toBe('');
    expect(out.calls).toBe(0);
    expect(Object.keys(out.metrics).filter((n) => n.startsWith('hw.'))).toEqual([]);
  });

  it('OTEL_INFERENCE_GPU_METRICS=true without nvidia-smi: one warning saying so', async () => {
    const { res } = await runApp({ env: { OTEL_INFERENCE_GPU_METRICS: 'TRUE', SYSTEM_STAY_MS: '300' } });
    expect(diagLines(res.stderr)).toEqual(['otel-inference: warn: OTEL_INFERENCE_GPU_METRICS=true, but nvidia-smi was not found; no GPU metrics']);
  });

  it('a bad OTEL_INFERENCE_GPU_METRICS: one warning, and the default (GPU metrics where nvidia-smi answers)', async () => {
    const { res, out } = await runApp({ steps: 'h100-80gb-hbm3.load.txt', env: { OTEL_INFERENCE_GPU_METRICS: 'yes', SYSTEM_WAIT_FOR: GPU_METRIC.memoryUsage } });
    expect(diagLines(res.stderr)).toEqual([
      'otel-inference: warn: OTEL_INFERENCE_GPU_METRICS="yes" is invalid (expected \'true\' or \'false\'); using the default: on where nvidia-smi answers',
    ]);
    expect(byGpu(out, GPU_METRIC.memoryUsage)).toEqual({ 'GPU 0': 19818 * MIB });
  });

  it('shutdown() stops polling', async () => {
    const { res, out } = await runApp({
      steps: 'h100-80gb-hbm3.load.txt',
      env: { OTEL_METRIC_EXPORT_INTERVAL: '100', SYSTEM_WAIT_FOR: GPU_METRIC.memoryUsage, SYSTEM_SHUTDOWN: '1', SYSTEM_STAY_MS: '800' },
    });
    expect(res.stderr).toBe('');
    expect(out.callsAtShutdown).toBeGreaterThanOrEqual(1);
    expect(out.calls).toBe(out.callsAtShutdown);
  });

  it('worker threads with register (OTEL_INFERENCE_WORKER_THREADS=true): only the main thread runs nvidia-smi', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'otel-inference-gpu-'));
    dirs.push(dir);
    const log = path.join(dir, 'calls.log');
    const res = await run({
      app: 'record.mjs',
      env: {
        PATH: `${FAKE_BIN}${path.delimiter}${process.env.PATH}`,
        FAKE_SMI_LOG: log,
        FAKE_SMI_STEPS: 'h100-80gb-hbm3.load.txt',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_INFERENCE_IN_PROCESS_READER: 'true',
        OTEL_INFERENCE_WORKER_THREADS: 'true',
        FIXTURE_MODE: 'worker',
      },
    });
    expect(res.stdout).toBe('worker register: started\n');
    // each started nvidia-smi logs its call first thing; give a late one time to
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('OTEL_METRICS_EXPORTER=none with no in-process reader: nothing would read them, nvidia-smi is not run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'otel-inference-gpu-'));
    dirs.push(dir);
    const log = path.join(dir, 'calls.log');
    const res = await run({
      app: 'record.mjs',
      env: { PATH: `${FAKE_BIN}${path.delimiter}${process.env.PATH}`, FAKE_SMI_LOG: log, FAKE_SMI_STEPS: 'h100-80gb-hbm3.load.txt', OTEL_METRICS_EXPORTER: 'none' },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(() => readFileSync(log)).toThrow();
  });
});
