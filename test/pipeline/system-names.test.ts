/**
 * The host and GPU metrics through the real collector (when scripts/build-collector.sh has cached
 * it): a preloaded app with host metrics on and a fake nvidia-smi exports OTLP, and the collector's
 * Prometheus exporter writes exactly the names and types of PROMETHEUS_HOST_METRIC and
 * PROMETHEUS_GPU_METRIC, with the attribute labels the docs name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { PROMETHEUS_GPU_METRIC as GPU, PROMETHEUS_HOST_METRIC as HOST } from '../../packages/instrumentation/src/prometheus-names.js';
import { REPO, run } from '../helpers/apps.js';
import { collectorBinaryPath, requireTool } from './tools.js';

const BUILD = 'build the collector: `scripts/build-collector.sh` (needs Go >= 1.26 and the Go module proxy)';

describe('host and GPU metrics through the collector', () => {
  const bin = collectorBinaryPath();
  let child: ChildProcess | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'otel-inference-system-names-'));

  afterAll(() => {
    child?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('are written under the names and types of the tables, with their labels', { timeout: 90_000 }, async (ctx) => {
    requireTool(ctx, existsSync(bin), BUILD);
    const [grpc, http, prom, health, self] = await freePorts(5);
    child = spawn(bin, ['--config', 'otel-collector/config.yaml'], {
      cwd: REPO,
      env: {
        ...process.env,
        OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpc}`,
        OTLP_HTTP_ENDPOINT: `127.0.0.1:${http}`,
        PROMETHEUS_EXPORTER_ENDPOINT: `127.0.0.1:${prom}`,
        HEALTH_CHECK_ENDPOINT: `127.0.0.1:${health}`,
        OTELCOL_METRICS_HOST: '127.0.0.1',
        OTELCOL_METRICS_PORT: String(self),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${health}/`)).ok, 20_000, () => log);

    // Exports once, at its exit, after the first nvidia-smi poll has given the GPU values.
    const app = await run({
      app: 'system-metrics.mjs',
      env: {
        PATH: `${path.join(REPO, 'test/fixtures/nvidia-smi/bin')}${path.delimiter}${process.env.PATH}`,
        FAKE_SMI_LOG: path.join(dir, 'calls.log'),
        FAKE_SMI_STEPS: 'multi-gpu-mig-na.txt',
        OTEL_SERVICE_NAME: 'system-names',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${http}`,
        OTEL_INFERENCE_IN_PROCESS_READER: 'true',
        OTEL_INFERENCE_HOST_METRICS: 'true',
        SYSTEM_WAIT_FOR: 'hw.gpu.memory.usage',
        SYSTEM_WAIT_MS: '20000',
      },
      timeoutMs: 60_000,
    });
    expect(app.code, app.stderr).toBe(0);
    expect(app.stderr).toBe('');

    let text = '';
    await waitFor(
      async () => {
        text = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
        return text.includes('hw_gpu_memory_usage_bytes{') && text.includes('process_memory_usage{');
      },
      20_000,
      () => log,
    );
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).filter((t) => /^(system|process|hw)_/.test(t));
    expect(types.sort()).toEqual([...Object.values(HOST), ...Object.values(GPU)].map((m) => `${m.name} ${m.type}`).sort());

    const line = (name: string, match: RegExp = /./): string => text.split('\n').find((l) => l.startsWith(`${name}{`) && match.test(l)) ?? '';
    const gpu1 = line(GPU.memoryUsage.name, /hw_name="GPU 1"/);
    for (const label of [
      'hw_type="gpu"',
      'hw_id="GPU-00000001-0000-0000-0000-000000000001"',
      'hw_vendor="NVIDIA"',
      'hw_model="NVIDIA H100 80GB HBM3"',
      'hw_driver_version="590.48.01"',
      'otel_scope_name="otel-inference"',
      'job="system-names"',
    ]) {
      expect(gpu1, label).toContain(label);
    }
    expect(gpu1).toMatch(/\} 1\.1665408e\+10$|\} 11665408000$/);
    expect(line(HOST.systemCpuTime.name)).toMatch(/cpu_logical_number="\d+".*cpu_mode="\w+"|cpu_mode="\w+".*cpu_logical_number="\d+"/);
    expect(line(HOST.systemCpuTime.name)).toContain('otel_scope_name="@opentelemetry/instrumentation-host-metrics"');
    expect(line(HOST.systemMemoryUsage.name)).toMatch(/system_memory_state="(used|free)"/);
    expect(line(HOST.processCpuTime.name)).toMatch(/cpu_mode="(user|system)"/);
  });
});

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms; collector log:\n${context()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
