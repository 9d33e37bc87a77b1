/**
 * The demo's simulated server: the demo profile (demo/profile.mjs) and the CLI
 * (demo/sim-server.mjs, which runs the build of sim/: `npm test` builds first). The server
 * itself is tested in test/sim/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS, DEMO_PROFILE } from '../../demo/profile.mjs';
import { startSimServer } from '../../sim/index.js';

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

  it('streams with realistic latency and reports usage; same seed gives the same output', async () => {
    const a = await startSimServer({ profile: DEMO_PROFILE, seed: 42 });
    const b = await startSimServer({ profile: DEMO_PROFILE, seed: 42 });
    try {
      const run = async (url: string) => {
        const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
        const t0 = performance.now();
        const stream = await client.chat.completions.create({
          model: 'llama-3.1-8b',
          messages: [{ role: 'user', content: 'tell me something' }],
          stream: true,
          stream_options: { include_usage: true },
        });
        let ttft = 0;
        let text = '';
        let usage: OpenAI.CompletionUsage | null | undefined;
        for await (const c of stream) {
          const content = c.choices[0]?.delta.content;
          if (content && !ttft) ttft = performance.now() - t0;
          text += content ?? '';
          if (c.usage) usage = c.usage;
        }
        return { ttft, text, usage, total: performance.now() - t0 };
      };
      const [ra, rb] = await Promise.all([run(a.url), run(b.url)]);
      expect(ra.text).toBe(rb.text);
      expect(ra.usage).toEqual(rb.usage);
      expect(ra.usage?.completion_tokens).toBeGreaterThanOrEqual(20);
      expect(ra.usage?.completion_tokens).toBeLessThanOrEqual(120);
      expect(ra.usage?.prompt_tokens).toBeGreaterThan(0);
      // llama-3.1-8b: ttft ~150 ms ±30 %, ~15 ms/token.
      expect(ra.ttft).toBeGreaterThanOrEqual(100);
      expect(ra.ttft).toBeLessThan(300);
      const tokens = ra.usage?.completion_tokens ?? 0;
      expect(ra.total).toBeGreaterThan(100 + (tokens - 1) * 15 * 0.7);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails about 2% of requests with 429 and 1% with 500; x-sim still overrides', async () => {
    const demo = await startSimServer({ profile: DEMO_PROFILE, seed: 7 });
    try {
      const N = 1000;
      const statuses: number[] = [];
      const fast = JSON.stringify({ ttftMs: 0, chunkMs: 0, chunks: 1 });
      for (let i = 0; i < N; i += 100) {
        const batch = await Promise.all(
          Array.from({ length: 100 }, () =>
            fetch(`${demo.url}/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-sim': fast },
              body: JSON.stringify({ model: 'qwen2.5-32b', messages: [{ role: 'user', content: 'x' }] }),
            }).then(async (r) => {
              await r.arrayBuffer();
              return r.status;
            }),
          ),
        );
        statuses.push(...batch);
      }
      const n429 = statuses.filter((s) => s === 429).length;
      const n500 = statuses.filter((s) => s === 500).length;
      const n200 = statuses.filter((s) => s === 200).length;
      expect(n200 + n429 + n500).toBe(N);
      expect(n429).toBeGreaterThanOrEqual(5);
      expect(n429).toBeLessThanOrEqual(40);
      expect(n500).toBeGreaterThanOrEqual(2);
      expect(n500).toBeLessThanOrEqual(25);

      const forced = await fetch(`${demo.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim': JSON.stringify({ status: 503, chunks: 1 }) },
        body: JSON.stringify({ model: 'qwen2.5-32b', messages: [] }),
      });
      expect(forced.status).toBe(503);
      expect(await forced.json()).toMatchObject({ error: { type: 'server_error' } });
    } finally {
      await demo.close();
    }
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
