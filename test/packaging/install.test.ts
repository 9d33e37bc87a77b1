/**
 * The packed tarballs, installed the way a user installs them, into an app on the newest
 * OpenTelemetry JS stack (API 1.10, sdk-metrics 3.1): no peer-dependency warning, `npm ls`
 * clean, and the preload working from the installed copy, outside this repository.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM_ENV = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

let dir: string;
let install: { stdout: string; stderr: string };

async function pack(pkg: string): Promise<string> {
  const { stdout } = await exec('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: path.join(ROOT, pkg), env: NPM_ENV });
  return path.join(dir, stdout.trim().split('\n').pop()!);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'otel-inference-install-'));
  const [library, distro] = [await pack('packages/instrumentation'), await pack('packages/otel-inference')];
  const app = path.join(dir, 'app');
  await exec('mkdir', [app]);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'app-on-the-newest-otel',
      private: true,
      type: 'module',
      dependencies: {
        '@opentelemetry/api': '1.10.0',
        '@opentelemetry/sdk-metrics': '^3.1.0',
        '@otel-inference/instrumentation': `file:${library}`,
        'otel-inference': `file:${distro}`,
      },
    }),
  );
  writeFileSync(
    path.join(app, 'app.js'),
    [
      "import http from 'node:http';",
      "import { instrumentCall, METRIC, statsHandler } from 'otel-inference';",
      "import schema from 'otel-inference/stats.schema.json' with { type: 'json' };",
      "import { getRegisteredMetricReader, getRegisterStatus } from 'otel-inference/register';",
      "await instrumentCall({ provider: 'p', model: 'm' }, async () => ({ usage: { prompt_tokens: 1, completion_tokens: 2 } }));",
      'const { resourceMetrics } = await getRegisteredMetricReader().collect();',
      'const requests = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRIC.requests);',
      // /v1/stats from the installed copy, over the in-process reader, and the schema by its export path.
      'const server = http.createServer(statsHandler()).listen(0, "127.0.0.1");',
      "await new Promise((resolve) => server.once('listening', resolve));",
      'const stats = await (await fetch(`http://127.0.0.1:${server.address().port}/v1/stats`)).json();',
      'server.close();',
      'const statsRequests = stats.models.map((m) => [m.model, m.client.lifetime.requests.total]);',
      'console.log(JSON.stringify({ status: getRegisterStatus(), requests: requests.dataPoints.map((p) => p.value), statsRequests, schema: schema.title }));',
    ].join('\n'),
  );
  install = await exec('npm', ['install', '--strict-peer-deps'], { cwd: app, env: NPM_ENV });
}, 180_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed packages in an app on API 1.10 and sdk-metrics 3.1', () => {
  it('install with --strict-peer-deps and no peer or engine warning', () => {
    const output = `${install.stdout}\n${install.stderr}`;
    expect(output).not.toMatch(/ERESOLVE|peer dep|EBADENGINE/i);
  });

  it('leave `npm ls` clean (exit 0)', async () => {
    const { stdout } = await exec('npm', ['ls', '--all'], { cwd: path.join(dir, 'app'), env: NPM_ENV });
    expect(stdout).toContain('otel-inference@');
    expect(stdout).not.toMatch(/invalid|UNMET|extraneous/);
  });

  it('run the preload from the installed copy', async () => {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'otel-inference/register', 'app.js'], {
      cwd: path.join(dir, 'app'),
      env: { PATH: process.env.PATH, OTEL_METRICS_EXPORTER: 'none', OTEL_INFERENCE_IN_PROCESS_READER: 'true' },
    });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toMatchObject({
      status: { ownsMeterProvider: true },
      requests: [1],
      statsRequests: [['m', 1]],
      schema: 'otel-inference /v1/stats',
    });
  });
});
