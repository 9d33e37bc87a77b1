import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../packages/instrumentation/src/version.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Manifest {
  name: string;
  version: string;
  engines?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const read = (dir: string): Manifest => JSON.parse(readFileSync(`${ROOT}/${dir}/package.json`, 'utf8')) as Manifest;
const LIBRARY = { dir: 'packages/instrumentation', manifest: read('packages/instrumentation') };
const DISTRO = { dir: 'packages/otel-inference', manifest: read('packages/otel-inference') };

/** The packages (not Node.js built-ins) a built file imports or requires. */
function importsOf(file: string): Set<string> {
  const source = readFileSync(`${ROOT}/${file}`, 'utf8');
  const specifiers = [...source.matchAll(/(?:from\s+|require\()\s*['"]([^'"./][^'"]*)['"]/g)].map((m) => m[1]!);
  return new Set(specifiers.filter((s) => !s.startsWith('node:') && !builtinModules.includes(s)));
}

describe('the two packages', () => {
  it('are built (npm test builds first)', () => {
    for (const file of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) {
      expect(existsSync(`${ROOT}/${LIBRARY.dir}/dist/${file}`), file).toBe(true);
    }
    for (const file of ['index.js', 'index.cjs', 'register.js', 'register.cjs', 'register.d.ts', 'register.d.cts']) {
      expect(existsSync(`${ROOT}/${DISTRO.dir}/dist/${file}`), file).toBe(true);
    }
  });

  it.each([
    ['ESM', 'test/fixtures/consumers/consumer.mjs'],
    ['CJS', 'test/fixtures/consumers/consumer.cjs'],
  ])('work for a %s consumer of otel-inference through the exports map', async (_kind, file) => {
    const { stdout } = await run(process.execPath, [file], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({
      errors: 0,
      names: [
        'gen_ai.client.inference.usage.cache_read.input_tokens',
        'gen_ai.client.inference.usage.cache_write.input_tokens',
        'gen_ai.client.inference.usage.input_tokens',
        'gen_ai.client.inference.usage.output_tokens',
        'gen_ai.client.inference.usage.reasoning.output_tokens',
        'gen_ai.client.operation.duration',
        'gen_ai.client.operation.time_per_output_chunk',
        'gen_ai.client.operation.time_to_first_chunk',
        'gen_ai.client.token.usage',
        'gen_ai.server.request.duration',
        'gen_ai.server.time_per_output_token',
        'gen_ai.server.time_to_first_token',
        'inference.output_token_rate',
        'inference.requests',
        'inference.requests.active',
        'inference.server.output_token_rate',
        'inference.server.phase.duration',
        'inference.server.requests',
        'inference.server.requests.active',
        'inference.server.tokens',
      ],
      requests: 3,
    });
  });

  it('share the backend context between the ESM and the CJS copy in one process', async () => {
    const { stdout } = await run(process.execPath, ['test/fixtures/consumers/dual-backend.mjs'], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({
      errors: 0,
      copies: true,
      backends: [
        ['from-esm', 1],
        ['from-cjs', 1],
        ['b', 1],
      ],
      fallbacks: [['a', 'b', 1]],
    });
  });

  it('the instrumentation needs only the OTel API (a peer) and @opentelemetry/instrumentation: no SDK, no exporter', () => {
    expect(LIBRARY.manifest.name).toBe('@otel-inference/instrumentation');
    expect(Object.keys(LIBRARY.manifest.dependencies ?? {})).toEqual(['@opentelemetry/instrumentation']);
    expect(Object.keys(LIBRARY.manifest.peerDependencies ?? {})).toEqual(['@opentelemetry/api']);
    for (const file of ['index.js', 'index.cjs']) {
      expect(importsOf(`${LIBRARY.dir}/dist/${file}`)).toEqual(new Set(['@opentelemetry/api', '@opentelemetry/instrumentation']));
    }
  });

  it("otel-inference's main entry is the instrumentation's API and statsHandler(), on the OTel API alone; the SDK loads only with register", () => {
    for (const file of ['index.js', 'index.cjs']) {
      expect(importsOf(`${DISTRO.dir}/dist/${file}`)).toEqual(new Set(['@otel-inference/instrumentation', '@opentelemetry/api']));
    }
    expect(importsOf(`${DISTRO.dir}/dist/register.js`)).toContain('@opentelemetry/sdk-metrics');
  });

  it('share one version, the instrumentation scope version, and otel-inference pins its instrumentation exactly', () => {
    expect(VERSION).toBe(LIBRARY.manifest.version);
    expect(DISTRO.manifest.version).toBe(LIBRARY.manifest.version);
    expect(DISTRO.manifest.dependencies?.['@otel-inference/instrumentation']).toBe(LIBRARY.manifest.version);
  });

  it('support Node.js 22.15 and later, and accept the OTel API range the OTel 3.x SDK packages accept', () => {
    for (const { manifest } of [LIBRARY, DISTRO]) {
      expect(manifest.engines?.node).toBe('>=22.15.0');
      expect(manifest.peerDependencies?.['@opentelemetry/api']).toBe('>=1.10.0 <1.11.0');
    }
  });

  it('otel-inference pins core, resources and sdk-metrics to the version its OTLP exporters pin (one copy of each)', () => {
    const exporter = JSON.parse(
      readFileSync(`${ROOT}/node_modules/@opentelemetry/exporter-metrics-otlp-http/package.json`, 'utf8'),
    ) as Manifest;
    for (const name of ['@opentelemetry/core', '@opentelemetry/sdk-metrics']) {
      expect(DISTRO.manifest.dependencies?.[name], name).toBe(exporter.dependencies?.[name]);
    }
    expect(DISTRO.manifest.dependencies?.['@opentelemetry/resources']).toBe(exporter.dependencies?.['@opentelemetry/core']);
  });

  it.each([
    { ...LIBRARY, extra: [] },
    { ...DISTRO, extra: ['stats.schema.json'] },
  ])('$manifest.name packs its build, README and LICENSE (and the /v1/stats schema), and nothing of the repo around them', async ({ dir, extra }) => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: `${ROOT}/${dir}` });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.cjs');
    expect(files).toContain('README.md');
    expect(files).toContain('LICENSE');
    expect(files.filter((f) => !f.startsWith('dist/') && !['README.md', 'LICENSE', 'package.json'].includes(f))).toEqual(extra);
  });
});
