/**
 * An app that registered its own MeterProvider before the preload ran: register records into
 * it, starts no exporter of its own, leaves HTTP metrics to the app's SDK, and says so once.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver } from '../../helpers/otlp-receiver.js';
import { APPS, diagLines, run, startFakeOpenAI } from '../../helpers/apps.js';
import { INFERENCE_NAMES } from '../../helpers/registry.js';

let sim: { url: string; close(): Promise<void> };
beforeAll(async () => {
  sim = await startFakeOpenAI();
});
afterAll(async () => {
  await sim.close();
});

describe('otel-inference/register with the app’s own MeterProvider', () => {
  it('records into it, exports nothing itself, and says so once at info level', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const res = await run({
        app: 'app-provider.mjs',
        loader: 'import',
        env: {
          NODE_OPTIONS: `--require ${path.join(APPS, 'app-provider-setup.cjs')}`,
          SIM_URL: sim.url,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_METRIC_EXPORT_INTERVAL: '100',
        },
      });
      expect(res.code, res.stderr).toBe(0);
      expect(diagLines(res.stderr)).toEqual([
        "otel-inference: info: a MeterProvider is already registered (by the app or an earlier preload): recording into it, with no reader of our own; the app's SDK sends and flushes the metrics",
      ]);
      expect(JSON.parse(res.stdout)).toEqual({
        status: { ownsMeterProvider: false, instrumentations: INFERENCE_NAMES, esmHook: expect.any(String) },
        errors: 0,
        requests: [1],
        httpMetrics: false,
      });
      expect(receiver.requests).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
