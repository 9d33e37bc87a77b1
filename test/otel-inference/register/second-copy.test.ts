/**
 * A second copy of register in the same process (the ESM build next to the CJS build, either one
 * first) finds the first one's state and does nothing: one MeterProvider, one set of
 * instrumentations, one export, and not a line on stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type Point } from '../../helpers/otlp-receiver.js';
import { run, startFakeOpenAI } from '../../helpers/apps.js';
import { INFERENCE_NAMES } from '../../helpers/registry.js';

let sim: { url: string; close(): Promise<void> };
beforeAll(async () => {
  sim = await startFakeOpenAI();
});
afterAll(async () => {
  await sim.close();
});

const named = (points: Point[], metric: string) => points.filter((p) => p.metric === metric);

describe.concurrent('a second copy of otel-inference/register does nothing', () => {
  it.each([
    { app: 'second-copy.mjs', loader: 'import', how: 'second-copy.mjs under --import, then the CJS build by require()' },
    { app: 'second-copy.mjs', loader: 'require', how: 'second-copy.mjs under --require, then the ESM build by import' },
    { app: 'second-copy.cjs', loader: 'require', how: 'second-copy.cjs under --require, then the ESM build by import()' },
    { app: 'second-copy.cjs', loader: 'import', how: 'second-copy.cjs under --import, then the CJS build by require()' },
  ] as const)('$how', async ({ app, loader }) => {
    const r = await startOtlpReceiver();
    try {
      const res = await run({ app, loader, env: { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, SIM_URL: sim.url } });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      const [report, answer] = res.stdout.trimEnd().split('\n');
      expect(answer).toBe('answer: hello');
      const status = { ownsMeterProvider: true, instrumentations: [...INFERENCE_NAMES, 'http', 'undici'], esmHook: expect.any(String) };
      expect(JSON.parse(report!)).toEqual({
        providerStarted: true,
        // Both copies see the one MeterProvider, which is the global one.
        sameProvider: true,
        globalProvider: true,
        status: [status, status],
        // Two builds were loaded indeed: the ESM one awaits its loader hook, the CJS one cannot.
        builds: [true, false],
      });

      // One export, from one MeterProvider, with every point once.
      expect(r.requests).toHaveLength(1);
      const points = r.points();
      expect(new Set(points.map((p) => p.resource['service.instance.id'])).size).toBe(1);
      expect(named(points, 'fixture.calls').map((p) => p.value)).toEqual([1]);
      // One openai instrumentation and one fetch instrumentation: the call is counted once.
      const duration = named(points, 'gen_ai.client.operation.duration');
      expect(duration.map((p) => [p.scope, p.value])).toEqual([['otel-inference', 1]]);
      expect(named(points, 'inference.requests').map((p) => p.value)).toEqual([1]);
      expect(named(points, 'http.client.request.duration').map((p) => [p.scope, p.value])).toEqual([
        ['@opentelemetry/instrumentation-undici', 1],
      ]);
    } finally {
      await r.close();
    }
  });
});
