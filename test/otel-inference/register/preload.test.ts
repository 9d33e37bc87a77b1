/**
 * The preload on the running Node.js line: nothing on stderr (no DeprecationWarning for
 * module.register, no ExperimentalWarning), ESM imports hooked in-thread with
 * module.registerHooks where the line can run import-in-the-middle's synchronous hooks, and
 * through the module.register loader thread on the older lines. CI runs this file on every
 * line of the matrix (22.15, 22, 24, 26).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { run, type Loader } from '../../helpers/apps.js';
import { INFERENCE_NAMES } from '../../helpers/registry.js';

const { supportsSyncHooks } = createRequire(import.meta.url)('import-in-the-middle/supports-sync-hooks.mjs') as {
  supportsSyncHooks(): boolean;
};
const EXPECTED_HOOK = supportsSyncHooks() ? 'sync' : 'async';
const QUIET = { OTEL_METRICS_EXPORTER: 'none' };

describe.concurrent(`the preload on Node.js ${process.version}`, () => {
  it('hooks ESM in-thread from 22.22.3 / 24.11.1 / 26 on, and on a loader thread before', () => {
    const [major, minor, patch] = process.versions.node.split('.').map(Number) as [number, number, number];
    const syncLine =
      major >= 26 || (major === 24 && (minor > 11 || (minor === 11 && patch >= 1))) || (major === 22 && (minor > 22 || (minor === 22 && patch >= 3)));
    expect(EXPECTED_HOOK).toBe(syncLine ? 'sync' : 'async');
  });

  it.each<{ app: string; loader: Loader }>([
    { app: 'status.mjs', loader: 'import' },
    { app: 'status.mjs', loader: 'node-options' },
    { app: 'status.cjs', loader: 'require' },
    { app: 'status.cjs', loader: 'import' },
  ])('$app with $loader: stderr is empty, openai is patched, the ESM hook is the line\'s', async ({ app, loader }) => {
    const res = await run({ app, loader, env: QUIET });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      ownsMeterProvider: true,
      instrumentations: [...INFERENCE_NAMES, 'http', 'undici'],
      esmHook: EXPECTED_HOOK,
      openaiPatched: true,
    });
  });

  it.each<Loader>(['require', 'import'])('node -e with --%s: built-ins still load through the hooks', async (loader) => {
    const res = await run({
      app: '',
      eval: "require('util'); require('node:fs'); console.log(typeof module, typeof require('module').registerHooks)",
      loader,
      env: QUIET,
    });
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe('object function\n');
  });

  it('with nothing to hook for ESM (only fetch metrics on), no loader hook is registered', async () => {
    const res = await run({ app: 'status.cjs', loader: 'import', env: { ...QUIET, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'undici' } });
    expect(res.stderr).toBe('');
    expect(JSON.parse(res.stdout)).toMatchObject({ instrumentations: ['undici'], esmHook: 'none', openaiPatched: false });
  });
});
