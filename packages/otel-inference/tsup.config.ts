import path from 'node:path';
import { defineConfig } from 'tsup';
import type { Plugin } from 'esbuild';
import { BUILD_DEFAULTS } from '../../tsup.base.js';

/**
 * `src/register/ready.ts` ends with a top-level await (the ESM register entry waits for the
 * ESM loader hook's acknowledgement). CommonJS has no top-level await: the CJS build gets the
 * same module without the await.
 */
const noTopLevelAwaitInCjs: Plugin = {
  name: 'register-ready-cjs',
  setup(build) {
    if (build.initialOptions.format !== 'cjs') return;
    build.onLoad({ filter: /[\\/]src[\\/]register[\\/]ready\.ts$/ }, (args) => ({
      contents: "import { boot } from './boot.js';\nboot();\nexport const hookAcknowledged = false;\n",
      loader: 'ts',
      resolveDir: path.dirname(args.path),
    }));
  },
};

export default defineConfig({
  ...BUILD_DEFAULTS,
  entry: { index: 'src/index.ts', register: 'src/register.ts' },
  // import.meta.url in the CJS build (the register entry resolves the ESM loader hook from its own URL).
  shims: true,
  // Dependencies and peers (@otel-inference/instrumentation among them) are external already.
  external: ['openai'],
  esbuildPlugins: [noTopLevelAwaitInCjs],
});
