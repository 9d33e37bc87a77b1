import type { Options } from 'tsup';

/** What every build of the repository shares: Node 22+, typed, source-mapped, one file per entry. */
export const BUILD_DEFAULTS = {
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
} as const satisfies Options;
