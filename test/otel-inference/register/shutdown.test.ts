/**
 * Exit behaviour: flush on normal exit and signals with the process's own exit code or
 * signal, the app's own handlers, and a collector that is down or slow.
 */
import { describe, expect, it } from 'vitest';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { diagLines, freePort, run, start } from '../../helpers/apps.js';

const calls = (points: Point[]) => points.filter((p) => p.metric === 'fixture.calls');

describe.concurrent('flush on exit, exit code unchanged', () => {
  it.each(['record.mjs', 'record.cjs'])('%s: normal exit keeps its exit code (3) and loses nothing', async (app) => {
    const r = await startOtlpReceiver();
    const res = await run({ app, env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, FIXTURE_EXIT_CODE: '3' } });
    expect(res.code).toBe(3);
    expect(calls(r.points())).toHaveLength(1);
    await r.close();
  });

  it('explicit process.exit() after await shutdown() loses nothing', async () => {
    const r = await startOtlpReceiver();
    const res = await run({ app: 'record-exit.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url } });
    expect(res.code).toBe(5);
    expect(calls(r.points())).toHaveLength(1);
    await r.close();
  });

  it.each([
    { app: 'record.mjs', signal: 'SIGTERM' },
    { app: 'record.cjs', signal: 'SIGTERM' },
    { app: 'record.mjs', signal: 'SIGINT' },
  ] as const)('$app killed with $signal: flushed, then ends by the same signal as without register', async ({ app, signal }) => {
    const r = await startOtlpReceiver();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, FIXTURE_MODE: 'wait' };
    const [withRegister, without] = [start({ app, env }), start({ app, env, loader: 'none' })];
    await Promise.all([withRegister.waitForOutput('ready'), without.waitForOutput('ready')]);
    withRegister.child.kill(signal);
    without.child.kill(signal);
    const [a, b] = await Promise.all([withRegister.done, without.done]);
    expect(b.signal).toBe(signal);
    expect(a.signal).toBe(b.signal); // a shell reports 128+15 = 143 for SIGTERM, 130 for SIGINT
    expect(a.code).toBe(b.code);
    expect(calls(r.points())).toHaveLength(1);
    await r.close();
  });

  it("the app's own SIGTERM handler runs and decides the exit; register flushes meanwhile", async () => {
    const r = await startOtlpReceiver();
    const app = start({ app: 'record.mjs', env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, FIXTURE_MODE: 'own-sigterm' } });
    await app.waitForOutput('ready');
    app.child.kill('SIGTERM');
    const res = await app.done;
    expect(res.stdout).toContain('app handler ran');
    expect(res.code).toBe(7);
    expect(calls(r.points())).toHaveLength(1);
    await r.close();
  });
});

describe.concurrent('collector unreachable or slow', () => {
  const SECRET_HEADERS = 'authorization=Bearer sk-SECRET';
  /**
   * Exit times are compared with a control started at the same moment (the same app, preloaded,
   * with a collector that answers at once), never with the wall clock: what a loaded machine
   * adds to one run it adds to the other, give or take this margin.
   */
  const MARGIN_MS = 3000;
  /** The same app, preloaded, exporting to a collector that answers at once: how long a run takes here and now. */
  async function control(app: string): Promise<number> {
    const healthy = await startOtlpReceiver();
    try {
      const res = await run({ app, env: { OTEL_EXPORTER_OTLP_ENDPOINT: healthy.url } });
      expect(res.code, res.stderr).toBe(0);
      expect(calls(healthy.points())).toHaveLength(1);
      return res.ms;
    } finally {
      await healthy.close();
    }
  }

  it.each(['record.mjs', 'record.cjs'])(
    '%s, collector down: same output as without register, exits within the export timeout, one warning, no secret',
    async (app) => {
      const port = await freePort();
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_HEADERS: SECRET_HEADERS,
        OTEL_EXPORTER_OTLP_TIMEOUT: '1500',
      };
      const [a, b, c] = await Promise.all([run({ app, env }), run({ app, env, loader: 'none' }), control(app)]);
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(a.ms, `control: ${c} ms`).toBeLessThan(c + 1500 + MARGIN_MS); // at most the OTLP timeout more than the healthy control
      const lines = diagLines(a.stderr);
      expect(lines.length, a.stderr).toBeLessThanOrEqual(1);
      expect(a.stderr).not.toMatch(/Unhandled|TypeError|at .*\(/);
      expect(a.stdout + a.stderr).not.toContain('sk-SECRET');
    },
  );

  it('collector slower than the export timeout: the exit waits only for the timeout', async () => {
    const r = await startOtlpReceiver({ delayMs: 10_000 });
    const [res, c] = await Promise.all([
      run({
        app: 'record.mjs',
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, OTEL_EXPORTER_OTLP_TIMEOUT: '1000', OTEL_EXPORTER_OTLP_HEADERS: SECRET_HEADERS },
      }),
      control('record.mjs'),
    ]);
    expect(res.code).toBe(0);
    // At most the OTLP timeout more than the healthy control; waiting for the answer would be 10 s more.
    expect(res.ms, `control: ${c} ms`).toBeLessThan(c + 1000 + MARGIN_MS);
    expect(diagLines(res.stderr).length).toBeLessThanOrEqual(1);
    expect(res.stdout + res.stderr).not.toContain('sk-SECRET');
    await r.close();
  });

  it('failing exports over a long run: at most one warning per failure streak', async () => {
    const port = await freePort();
    const app = start({
      app: 'record.mjs',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_EXPORTER_OTLP_HEADERS: SECRET_HEADERS,
        OTEL_EXPORTER_OTLP_TIMEOUT: '200',
        OTEL_METRIC_EXPORT_INTERVAL: '250',
        FIXTURE_MODE: 'wait',
      },
    });
    await app.waitForOutput('ready');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // ~10 failed exports
    app.child.kill('SIGTERM');
    const res = await app.done;
    expect(res.signal).toBe('SIGTERM');
    const lines = diagLines(res.stderr);
    expect(lines, res.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/export/i);
    expect(res.stdout + res.stderr).not.toContain('sk-SECRET');
  });
});
