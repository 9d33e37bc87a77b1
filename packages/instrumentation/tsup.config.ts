import { defineConfig } from 'tsup';
import { BUILD_DEFAULTS } from '../../tsup.base.js';

export default defineConfig({
  ...BUILD_DEFAULTS,
  entry: { index: 'src/index.ts' },
  // Dependencies and peers are external already; openai is only ever patched, never imported.
  external: ['openai'],
});
