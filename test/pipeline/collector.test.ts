import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { HTTP_METRIC, PROMETHEUS_LABEL as L, PROMETHEUS_METRIC as P } from '../../grafana/names.js';
import { OUTCOME } from '../../packages/instrumentation/src/semconv.js';
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

  // The check that the names table (prometheusName, semconv.ts) is what the real collector
  // writes: the sample sends every instrument of the INSTRUMENT table.
  it('translates the otel-inference metrics to the names of the table (grafana/names.ts)', { timeout: 60_000 }, async (ctx) => {
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
        return text.includes(`${P.requests.name}{`);
      },
      20_000,
      () => log,
    );
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).filter((t) => !t.startsWith('target_info '));
    const table = [...Object.values(P), ...Object.values(HTTP_METRIC)];
    expect(types.sort()).toEqual(table.map((m) => `${m.name} ${m.type}`).sort());
    const series = new Set([...text.matchAll(/^([a-zA-Z_:][\w:]*)[{ ]/gm)].map((m) => m[1]).filter((n) => n !== 'target_info'));
    expect([...series].sort()).toEqual(table.flatMap((m) => m.series).sort());
    expect(text).not.toMatch(/_per_second_per_second|_total_total/);
    // job = service.name, instance = service.instance.id, the promoted resource attributes
    const line = text.split('\n').find((l) => l.startsWith(`${P.requests.name}{`)) ?? '';
    expect(line).toContain('job="pipeline-test"');
    expect(line).toMatch(/instance="pipeline-test-\d+"/);
    expect(line).toContain('service_version="0.1.0"');
    expect(line).toContain('deployment_environment_name="test"');
    expect(line).not.toContain('host_name=');
    // every attribute label the sample sent, named as the table says
    for (const label of [L.operationName, L.providerName, L.requestModel, L.responseModel, L.requestStream, L.serverAddress, L.serverPort, L.outcome, L.errorType]) {
      expect(text, label).toMatch(new RegExp(`^${P.requests.name}\\{[^}]*\\b${label}="[^"]*"`, 'm'));
    }
    expect(text).toMatch(new RegExp(`^${P.requests.name}\\{[^}]*\\b${L.outcome}="${OUTCOME.error}"`, 'm'));
    expect(text).toMatch(new RegExp(`^${P.tokenUsage.name}_sum\\{[^}]*\\b${L.tokenType}="`, 'm'));
    // SLO boundaries exist as exact le labels
    expect(text).toMatch(new RegExp(`^${P.operationDuration.name}_bucket\\{[^}]*le="10\\.24"\\}`, 'm'));
    expect(text).toMatch(new RegExp(`^${P.timeToFirstChunk.name}_bucket\\{[^}]*le="1\\.28"\\}`, 'm'));
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
