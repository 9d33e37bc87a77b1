/**
 * The demo's simulated server: the demo profile (demo/profile.mjs) and the CLI
 * (demo/sim-server.mjs, which runs the build of sim/: `npm test` builds first). The server
 * itself, profiles included (latency, usage, seeded output, failure rates), is tested in
 * test/sim/ with a profile of the same shape; test/demo/demo.test.ts runs the demo end to end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS, DEMO_PROFILE } from '../../demo/profile.mjs';

const SIM_SERVER_PATH = fileURLToPath(new URL('../../demo/sim-server.mjs', import.meta.url));

describe('demo profile', () => {
  it('exports the model tables', () => {
    expect(DEMO_MODELS.map((m) => m.name)).toEqual(expect.arrayContaining(['llama-3.1-8b', 'qwen2.5-32b', 'gpt-4o-mini-sim']));
    for (const m of DEMO_MODELS) {
      expect(m.ttftMs).toBeGreaterThan(0);
      expect(m.msPerToken).toBeGreaterThan(0);
      expect(m.minTokens).toBeLessThanOrEqual(m.maxTokens);
    }
    expect(DEMO_EMBEDDING_MODELS.length).toBeGreaterThan(0);
    expect(DEMO_PROFILE.models).toBe(DEMO_MODELS);
    expect(DEMO_PROFILE.embeddingModels).toBe(DEMO_EMBEDDING_MODELS);
  });
});

describe('CLI', () => {
  it('prints the listening line, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [SIM_SERVER_PATH, '--port', '0', '--host', '127.0.0.1', '--profile', 'demo', '--seed', '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const nl = buf.indexOf('\n');
          if (nl >= 0) resolve(buf.slice(0, nl));
        });
        child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
      });
      const match = /^sim-server listening on (http:\/\/127\.0\.0\.1:\d+\/v1)$/.exec(line);
      expect(match).not.toBeNull();
      const res = await fetch(`${match![1]}/models`);
      const models = (await res.json()) as { data: Array<{ id: string }> };
      expect(models.data.map((m) => m.id)).toContain('llama-3.1-8b');
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses an unknown profile with exit code 2', () => {
    const r = spawnSync(process.execPath, [SIM_SERVER_PATH, '--port', '0', '--profile', 'fast'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`sim-server: unknown profile "fast" (expected 'demo' or 'none')`);
  });
});
