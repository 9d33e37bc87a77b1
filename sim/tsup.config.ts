import { fileURLToPath } from 'node:url';
import { defineConfig } from 'tsup';

// Run from the repository root (`npm run build`: tsup --config sim/tsup.config.ts); the paths
// are resolved from this file, so the working directory does not matter.
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  entry: { index: here('./index.ts') },
  outDir: here('./dist'),
  tsconfig: here('./tsconfig.json'),
  // The demo (plain node, ESM) and the benchmark import sim/dist/index.js; the tests import the sources.
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
});
