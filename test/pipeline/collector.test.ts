import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { emitSample } from './emit-sample.js';
import { collectorBinaryPath, read, requireTool, run } from './tools.js';

const BUILD = 'build the collector: `scripts/build-collector.sh` (needs Go >= 1.26 and the Go module proxy)';

const config = read('otel-collector', 'config.yaml');
const manifest = read('otel-collector', 'builder-config.yaml');

/** Component names configured under a top-level section of config.yaml (`name` or `name/suffix`). */
function configured(section: string): string[] {
  const m = new RegExp(`^${section}:\\n((?:[ #].*\\n|\\n)*)`, 'm').exec(config);
  const body = m?.[1] ?? '';
  return [...body.matchAll(/^ {2}([a-z_]+)(?:\/[a-z_]+)?:/gm)].map((x) => x[1] as string);
}

/** Module basenames of a manifest section (e.g. `otlpreceiver`). */
function built(section: string): string[] {
  const m = new RegExp(`^${section}:\\n((?:\\s+-.*\\n)*)`, 'm').exec(manifest);
  return [...(m?.[1] ?? '').matchAll(/gomod:\s*(\S+)\s+v[\d.]+/g)].map((x) => (x[1] as string).split('/').pop() as string);
}

const KIND: Record<string, string> = { receivers: 'receiver', processors: 'processor', exporters: 'exporter', extensions: 'extension' };

describe('collector config and manifest (static)', () => {
  it('the manifest builds exactly the components config.yaml configures', () => {
    for (const [section, kind] of Object.entries(KIND)) {
      const want = [...new Set(configured(section).map((n) => `${n.replace(/_/g, '')}${kind}`))].sort();
      expect(want.length, section).toBeGreaterThan(0);
      expect(built(section).sort(), section).toEqual(want);
    }
  });

  it('pins one collector version everywhere (manifest, ocb, docker-compose image)', () => {
    const versions = new Set([...manifest.matchAll(/gomod:\s*\S+\s+(v0\.\d+\.\d+)/g)].map((m) => m[1]));
    expect(versions.size).toBe(1);
    const [v] = [...versions] as [string];
    expect(manifest).toMatch(new RegExp(`^# ocb-version: ${v.replace(/\./g, '\\.')}$`, 'm'));
    expect(read('docker-compose.yml')).toContain(`otel/opentelemetry-collector-contrib:${v.slice(1)}`);
  });

  it('every listen address is env-overridable with a default', () => {
    for (const name of ['OTLP_GRPC_ENDPOINT', 'OTLP_HTTP_ENDPOINT', 'PROMETHEUS_EXPORTER_ENDPOINT', 'HEALTH_CHECK_ENDPOINT', 'OTELCOL_METRICS_PORT']) {
      expect(config).toMatch(new RegExp(`\\$\\{env:${name}:-[^}]+\\}`));
    }
    expect(config).toMatch(/resource_to_telemetry_conversion/); // documented as off
    expect(config).not.toMatch(/^\s*resource_to_telemetry_conversion:/m);
    expect(config).toMatch(/translation_strategy:\s*UnderscoreEscapingWithSuffixes/);
  });
});

describe('collector binary (built by scripts/build-collector.sh)', () => {
  const bin = collectorBinaryPath();
  const present = existsSync(bin);
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('runs --version', (ctx) => {
    requireTool(ctx, present, BUILD);
    const r = run(bin, ['--version']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/otelcol-inference version 0\.\d+/);
  });

  it('validates otel-collector/config.yaml (and with the debug overlay)', (ctx) => {
    requireTool(ctx, present, BUILD);
    let r = run(bin, ['validate', '--config', 'otel-collector/config.yaml']);
    expect(r.code, r.output).toBe(0);
    r = run(bin, ['validate', '--config', 'otel-collector/config.yaml', '--config', 'otel-collector/debug.yaml']);
    expect(r.code, r.output).toBe(0);
  });

  it('translates the otel-inference metrics to the documented Prometheus names', { timeout: 60_000 }, async (ctx) => {
    requireTool(ctx, present, BUILD);
    const [grpc, http, prom, health, self] = await freePorts(5);
    child = spawn(bin, ['--config', 'otel-collector/config.yaml'], {
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
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${health}/`)).ok, 20_000, () => log);
    await emitSample(`http://127.0.0.1:${http}`, 'pipeline-test');
    let text = '';
    await waitFor(
      async () => {
        text = await (await fetch(`http://127.0.0.1:${prom}/metrics`)).text();
        return text.includes('inference_requests_total{');
      },
      20_000,
      () => log,
    );
    const names = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`));
    expect([...names].sort()).toEqual(
      expect.arrayContaining([
        'gen_ai_client_operation_duration_seconds histogram',
        'gen_ai_client_token_usage histogram',
        'gen_ai_client_operation_time_to_first_chunk_seconds histogram',
        'gen_ai_client_operation_time_per_output_chunk_seconds histogram',
        'inference_requests_total counter',
        'inference_requests_active gauge',
        'inference_output_token_rate_per_second histogram',
        'http_server_request_duration_seconds histogram',
        'http_client_request_duration_seconds histogram',
      ]),
    );
    expect(text).not.toMatch(/_per_second_per_second|_total_total/);
    // job = service.name, instance = service.instance.id, the promoted resource attributes
    const line = text.split('\n').find((l) => l.startsWith('inference_requests_total{')) ?? '';
    expect(line).toContain('job="pipeline-test"');
    expect(line).toMatch(/instance="pipeline-test-\d+"/);
    expect(line).toContain('service_version="0.1.0"');
    expect(line).toContain('deployment_environment_name="test"');
    expect(line).not.toContain('host_name=');
    // SLO boundaries exist as exact le labels
    expect(text).toMatch(/gen_ai_client_operation_duration_seconds_bucket\{[^}]*le="10\.24"\}/);
    expect(text).toMatch(/gen_ai_client_operation_time_to_first_chunk_seconds_bucket\{[^}]*le="1\.28"\}/);
    // the collector's own metrics
    const own = await (await fetch(`http://127.0.0.1:${self}/metrics`)).text();
    expect(own).toMatch(/^otelcol_receiver_accepted_metric_points(_total)?\{/m);
  });
});

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
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
