import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../src/version.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as {
  name: string;
  version: string;
  exports: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

describe('the built package', () => {
  it('is built (npm test builds first)', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      expect(existsSync(`${root}/${file}`), file).toBe(true);
    }
  });

  it.each([
    ['ESM', 'test/fixtures/consumers/consumer.mjs'],
    ['CJS', 'test/fixtures/consumers/consumer.cjs'],
  ])('works for a %s consumer through the exports map', async (_kind, file) => {
    const { stdout } = await run(process.execPath, [file], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({
      errors: 0,
      names: [
        'gen_ai.client.operation.duration',
        'gen_ai.client.operation.time_per_output_chunk',
        'gen_ai.client.operation.time_to_first_chunk',
        'gen_ai.client.token.usage',
        'inference.output_token_rate',
        'inference.requests',
        'inference.requests.active',
      ],
      requests: 3,
    });
  });

  it('has @opentelemetry/api as a peer, and the core entry imports nothing else', () => {
    expect(pkg.name).toBe('otel-inference');
    expect(pkg.peerDependencies).toHaveProperty('@opentelemetry/api');
    for (const file of ['dist/index.js', 'dist/index.cjs']) {
      const source = readFileSync(`${root}/${file}`, 'utf8');
      const imports = [...source.matchAll(/(?:from\s+|require\()\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
      expect(new Set(imports)).toEqual(new Set(['@opentelemetry/api']));
    }
  });

  it('packs the built entries and the README, and nothing of the repo around them', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    for (const entry of ['index', 'register']) {
      for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) expect(files).toContain(`dist/${entry}.${ext}`);
    }
    expect(files).toContain('README.md');
    expect(files.filter((f) => !f.startsWith('dist/') && f !== 'README.md' && f !== 'package.json')).toEqual([]);
  });

  it('reports the package version as the instrumentation scope version', () => {
    expect(VERSION).toBe(pkg.version);
  });
});
