/** Shared helpers for the pipeline tests: repo paths and the skip-or-fail rule for tools. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * Whether a CI variable's value means CI: any non-empty value but `false` and `0` (`true`, `1`,
 * `yes`, a provider's own value). The one place this is decided; `CI` below is this process's.
 */
export function isCI(value: string | undefined): boolean {
  const v = value?.trim().toLowerCase() ?? '';
  return v !== '' && v !== 'false' && v !== '0';
}

export const CI = isCI(process.env.CI);

export function repoPath(...parts: string[]): string {
  return join(ROOT, ...parts);
}

export function read(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Where scripts/build-collector.sh caches the collector built from the current manifest. */
export function collectorBinaryPath(): string {
  const explicit = process.env.OTELCOL_INFERENCE_BIN || process.env.OTELCOL_BIN;
  if (explicit) return explicit;
  const cache = process.env.OTEL_INFERENCE_CACHE || join(homedir(), '.cache', 'otel-inference');
  const hash = createHash('sha256').update(readFileSync(repoPath('otel-collector', 'builder-config.yaml'))).digest('hex');
  return join(cache, `collector-${hash}`, 'otelcol-inference');
}

/**
 * A missing tool skips the test with a message naming the install step, except in CI
 * (see isCI: CI=true, CI=1, ...) where it fails: CI must install everything (see docs/pipeline.md).
 */
export function requireTool(ctx: { skip: (note?: string) => void }, present: boolean, install: string, ci: boolean = CI): void {
  if (present) return;
  const msg = `${install} first`;
  if (ci) throw new Error(`missing tool in CI: ${msg}`);
  console.warn(`SKIPPED: ${msg}`);
  ctx.skip(msg);
}

export function run(cmd: string, args: string[], cwd = ROOT): { code: number; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}
