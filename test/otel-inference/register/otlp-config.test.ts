/**
 * otel-inference/register, black box: fixture apps run as child processes with an env;
 * assertions on what reaches a local OTLP receiver, the console, and stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, run } from '../../helpers/apps.js';

// Each case gets its own receiver, so concurrent cases never see each other's data.
async function withReceiver<T>(fn: (r: OtlpReceiver) => Promise<T>): Promise<T> {
  const r = await startOtlpReceiver();
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

const calls = (points: Point[]) => points.filter((p) => p.metric === 'fixture.calls');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.concurrent('module systems and OTLP protocols', () => {
  it.each([
    { app: 'record.mjs', loader: 'import', protocol: 'http/protobuf', contentType: 'application/x-protobuf' },
    { app: 'record.mjs', loader: 'import', protocol: 'http/json', contentType: 'application/json' },
    { app: 'record.cjs', loader: 'require', protocol: 'http/protobuf', contentType: 'application/x-protobuf' },
    { app: 'record.cjs', loader: 'require', protocol: 'http/json', contentType: 'application/json' },
    { app: 'record.mjs', loader: 'node-options', protocol: 'http/protobuf', contentType: 'application/x-protobuf' },
    { app: 'record.cjs', loader: 'import', protocol: 'http/json', contentType: 'application/json' },
  ] as const)('$loader $app over $protocol: a short script loses nothing', async ({ app, loader, protocol, contentType }) =>
    withReceiver(async (r) => {
      const res = await run({
        app,
        loader,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol },
      });
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/app output: (esm|cjs) done/);
      expect(diagLines(res.stderr)).toEqual([]);
      expect(r.requests.length).toBeGreaterThanOrEqual(1);
      // OTEL_EXPORTER_OTLP_ENDPOINT is a base: /v1/metrics is appended.
      expect(new Set(r.paths())).toEqual(new Set(['/v1/metrics']));
      expect(r.requests[0]!.contentType).toContain(contentType);
      const c = calls(r.points());
      expect(c).toHaveLength(1);
      expect(c[0]!.value).toBe(1);
      expect(c[0]!.type).toBe('sum');
      const h = r.points().find((p) => p.metric === 'fixture.duration')!;
      expect(h.type).toBe('histogram');
      expect(h.value).toBe(1);
      expect(h.sum).toBeCloseTo(0.5, 6);
    }),
  );
});

describe.concurrent('resource: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, service.instance.id', () => {
  it('describes the process but never its command line, which can carry secrets', async () =>
    withReceiver(async (r) => {
      const res = await run({ app: 'record.mjs', args: ['--api-key=sk-ARGSECRET'], env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url } });
      expect(res.code, res.stderr).toBe(0);
      const resource = calls(r.points())[0]!.resource;
      expect(typeof resource['process.pid']).toBe('number');
      expect(resource['process.runtime.name']).toBe('nodejs');
      expect(resource).not.toHaveProperty('process.command_args');
      expect(resource).not.toHaveProperty('process.command_line');
      expect(JSON.stringify(r.points())).not.toContain('ARGSECRET');
    }),
  );

  it('sets service.name and resource attributes, and a UUID service.instance.id unique per process', async () =>
    withReceiver(async (r) => {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
        OTEL_SERVICE_NAME: 'chat-api',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=ml%20infra',
      };
      const [a, b] = await Promise.all([run({ app: 'record.mjs', env }), run({ app: 'record.mjs', env })]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const resources = calls(r.points()).map((p) => p.resource);
      expect(resources).toHaveLength(2);
      for (const res of resources) {
        expect(res['service.name']).toBe('chat-api');
        expect(res['deployment.environment.name']).toBe('test');
        expect(res['team']).toBe('ml infra');
        expect(String(res['service.instance.id'])).toMatch(UUID);
      }
      expect(resources[0]!['service.instance.id']).not.toBe(resources[1]!['service.instance.id']);
    }),
  );

  it('keeps a service.instance.id set by the user', async () =>
    withReceiver(async (r) => {
      await run({
        app: 'record.mjs',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_RESOURCE_ATTRIBUTES: 'service.instance.id=pod-7' },
      });
      expect(calls(r.points())[0]!.resource['service.instance.id']).toBe('pod-7');
    }),
  );

  it('OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES', async () =>
    withReceiver(async (r) => {
      await run({
        app: 'record.cjs',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_SERVICE_NAME: 'a', OTEL_RESOURCE_ATTRIBUTES: 'service.name=b' },
      });
      expect(calls(r.points())[0]!.resource['service.name']).toBe('a');
    }),
  );
});

describe.concurrent('OTLP exporter settings read by the exporter itself', () => {
  it('OTEL_EXPORTER_OTLP_HEADERS reach the collector and never the logs, even at debug level', async () =>
    withReceiver(async (r) => {
      const res = await run({
        app: 'record.mjs',
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
          OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer sk-SECRET,x-tenant=acme-SECRET2',
          OTEL_LOG_LEVEL: 'debug',
        },
      });
      expect(r.requests[0]!.headers['authorization']).toBe('Bearer sk-SECRET');
      expect(r.requests[0]!.headers['x-tenant']).toBe('acme-SECRET2');
      expect(res.stdout + res.stderr).not.toContain('sk-SECRET');
      expect(res.stdout + res.stderr).not.toContain('SECRET2');
    }),
  );

  it('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is used as is (no /v1/metrics appended), over OTEL_EXPORTER_OTLP_ENDPOINT', async () =>
    withReceiver(async (r) => {
      await run({
        app: 'record.mjs',
        env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${r.url}/custom/path`, OTEL_EXPORTER_OTLP_ENDPOINT: `${r.url}/base` },
      });
      expect(r.requests.length).toBeGreaterThanOrEqual(1);
      expect(new Set(r.paths())).toEqual(new Set(['/custom/path']));
      expect(calls(r.points())).toHaveLength(1);
    }),
  );

  it('OTEL_EXPORTER_OTLP_ENDPOINT with a path: /v1/metrics is appended to it', async () =>
    withReceiver(async (r) => {
      await run({ app: 'record.cjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${r.url}/base/` } });
      expect(r.requests.length).toBeGreaterThanOrEqual(1);
      expect(new Set(r.paths())).toEqual(new Set(['/base/v1/metrics']));
      expect(calls(r.points())).toHaveLength(1);
    }),
  );

  it.each([
    { value: undefined, temporality: 2 },
    { value: 'cumulative', temporality: 2 },
    { value: 'delta', temporality: 1 },
    { value: 'DELTA', temporality: 1 },
  ])('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=$value → temporality $temporality', async ({ value, temporality }) =>
    withReceiver(async (r) => {
      const res = await run({
        app: 'record.mjs',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: value },
      });
      expect(diagLines(res.stderr)).toEqual([]);
      expect(calls(r.points())[0]!.temporality).toBe(temporality);
    }),
  );

  it('OTEL_EXPORTER_OTLP_COMPRESSION=gzip sends gzip bodies', async () =>
    withReceiver(async (r) => {
      await run({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' } });
      expect(r.requests[0]!.headers['content-encoding']).toBe('gzip');
      expect(calls(r.points())).toHaveLength(1);
    }),
  );

  it('OTEL_METRIC_EXPORT_INTERVAL exports periodically while the app runs', async () =>
    withReceiver(async (r) => {
      const { start } = await import('../../helpers/apps.js');
      const app = start({
        app: 'record.mjs',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_METRIC_EXPORT_INTERVAL: '250', FIXTURE_MODE: 'wait' },
      });
      await app.waitForOutput('ready');
      // Three exports while the app runs: at the default 60 s interval not even a second one would
      // come within 10 s, so the variable was applied; no tighter wall-clock bound (loaded machine).
      const points = await r.waitFor((p) => calls(p).length >= 3, 10_000);
      expect(calls(points).length).toBeGreaterThanOrEqual(3);
      app.child.kill('SIGKILL');
      await app.done;
    }),
  );
});

describe.concurrent('OTEL_METRICS_EXPORTER', () => {
  it('console prints the metrics on stdout and sends nothing over OTLP', async () =>
    withReceiver(async (r) => {
      const res = await run({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_METRICS_EXPORTER: 'console' } });
      expect(res.stdout).toContain("name: 'fixture.calls'");
      expect(r.requests).toHaveLength(0);
    }),
  );

  it('otlp,console does both', async () =>
    withReceiver(async (r) => {
      const res = await run({
        app: 'record.mjs',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_METRICS_EXPORTER: 'otlp, console' },
      });
      expect(res.stdout).toContain("name: 'fixture.calls'");
      expect(calls(r.points())).toHaveLength(1);
    }),
  );

  it('none exports nothing', async () =>
    withReceiver(async (r) => {
      const res = await run({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_METRICS_EXPORTER: 'none' } });
      expect(res.code).toBe(0);
      expect(res.stdout).toBe('app output: esm done\n');
      expect(r.requests).toHaveLength(0);
    }),
  );
});

describe.concurrent('OTEL_SDK_DISABLED', () => {
  it.each(['true', 'TRUE'])('=%s: nothing is started, nothing is printed', async (value) =>
    withReceiver(async (r) => {
      const res = await run({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_SDK_DISABLED: value } });
      expect(res.code).toBe(0);
      expect(res.stdout).toBe('app output: esm done\n');
      expect(res.stderr).toBe('');
      expect(r.requests).toHaveLength(0);
    }),
  );

  it('=false starts as usual', async () =>
    withReceiver(async (r) => {
      await run({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_SDK_DISABLED: 'false' } });
      expect(calls(r.points())).toHaveLength(1);
    }),
  );
});

/**
 * A bad value: exactly one warning line, naming the variable, and the spec default applies
 * (the data still arrives, with the default's effect where one is observable).
 */
describe.concurrent('bad values: one warning, the default applies', () => {
  it.each([
    { name: 'OTEL_METRIC_EXPORT_INTERVAL', value: 'soon' },
    { name: 'OTEL_METRIC_EXPORT_INTERVAL', value: '-5' },
    { name: 'OTEL_METRIC_EXPORT_TIMEOUT', value: 'abc' },
    { name: 'OTEL_METRIC_EXPORT_TIMEOUT', value: '0' },
    { name: 'OTEL_EXPORTER_OTLP_PROTOCOL', value: 'carrier-pigeon', check: (r: OtlpReceiver) => expect(r.requests[0]!.contentType).toContain('protobuf') },
    { name: 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', value: 'udp', check: (r: OtlpReceiver) => expect(r.requests[0]!.contentType).toContain('protobuf') },
    { name: 'OTEL_EXPORTER_OTLP_TIMEOUT', value: 'abc' },
    { name: 'OTEL_EXPORTER_OTLP_COMPRESSION', value: 'zip', check: (r: OtlpReceiver) => expect(r.requests[0]!.headers['content-encoding']).toBeUndefined() },
    { name: 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', value: 'sometimes', check: (r: OtlpReceiver) => expect(calls(r.points())[0]!.temporality).toBe(2) },
    { name: 'OTEL_METRICS_EXPORTER', value: 'bogus' },
    { name: 'OTEL_LOG_LEVEL', value: 'loud' },
    { name: 'OTEL_SDK_DISABLED', value: 'maybe' },
    { name: 'OTEL_RESOURCE_ATTRIBUTES', value: 'novalue', check: (r: OtlpReceiver) => expect(calls(r.points())[0]!.resource['novalue']).toBeUndefined() },
    { name: 'OTEL_EXPORTER_PROMETHEUS_PORT', value: '99999' },
    { name: 'OTEL_INFERENCE_HTTP_METRICS', value: 'yes' },
    { name: 'OTEL_INFERENCE_STREAM_USAGE', value: 'sometimes' },
    { name: 'OTEL_INFERENCE_IN_PROCESS_READER', value: 'on' },
    { name: 'OTEL_INFERENCE_STATS_WINDOW', value: '0' },
    { name: 'OTEL_INFERENCE_STATS_WINDOW', value: 'a minute' },
    { name: 'OTEL_INFERENCE_MODEL_ALLOWLIST', value: 'gpt-4o,/[/' },
  ])('$name=$value', async ({ name, value, check }) =>
    withReceiver(async (r) => {
      const res = await run({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, [name]: value } });
      expect(res.code).toBe(0);
      expect(res.stdout).toBe('app output: esm done\n');
      const lines = diagLines(res.stderr);
      expect(lines, res.stderr).toHaveLength(1);
      expect(lines[0]).toContain(name);
      expect(lines[0]).toMatch(/warn/);
      expect(calls(r.points())).toHaveLength(1);
      check?.(r);
    }),
  );
});

/** The receiver these tests rely on: it says where each request went and never reads garbage as "no points". */
describe.concurrent('the local OTLP receiver itself', () => {
  const post = (r: OtlpReceiver, path: string, contentType: string, body: string | Uint8Array) =>
    fetch(`${r.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const EXPORT = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'probe' } }] },
        scopeMetrics: [
          { scope: { name: 's' }, metrics: [{ name: 'fixture.calls', unit: '{call}', sum: { dataPoints: [{ asInt: '2' }], aggregationTemporality: 2 } }] },
        ],
      },
    ],
  };

  it('records the path of each request and decodes a JSON export', async () =>
    withReceiver(async (r) => {
      expect((await post(r, '/some/where', 'application/json', JSON.stringify(EXPORT))).status).toBe(200);
      expect(r.paths()).toEqual(['/some/where']);
      expect(r.errors()).toEqual([]);
      expect(calls(r.points()).map((p) => [p.value, p.resource['service.name']])).toEqual([[2, 'probe']]);
    }),
  );

  it.each([
    { what: 'a protobuf body that does not decode', contentType: 'application/x-protobuf', body: new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]) },
    { what: 'a JSON body that does not parse', contentType: 'application/json', body: '{"resourceMetrics": [' },
    { what: 'an unknown content type', contentType: 'text/plain', body: JSON.stringify(EXPORT) },
  ])('$what: answered 400, kept as an error, and points() throws instead of answering "no points"', async ({ contentType, body }) =>
    withReceiver(async (r) => {
      expect((await post(r, '/v1/metrics', contentType, body)).status).toBe(400);
      expect(r.paths()).toEqual(['/v1/metrics']);
      expect(r.errors()).toHaveLength(1);
      expect(() => r.points()).toThrow(/could not be decoded/);
      await expect(r.waitFor(() => true, 200)).rejects.toThrow(/could not be decoded/);
    }),
  );
});
