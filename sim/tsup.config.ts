import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';
import { BUILD_DEFAULTS } from '../tsup.base.js';

// Run from the repository root (`npm run build`: tsup --config sim/tsup.config.ts); the paths
// are resolved from this file, so the working directory does not matter.
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  ...BUILD_DEFAULTS,
  entry: { index: here('./index.ts') },
  outDir: here('./dist'),
  tsconfig: here('./tsconfig.json'),
  // The demo (plain node, ESM) and the benchmark import sim/dist/index.js; the tests import the sources.
  format: ['esm'],
});
