/**
 * The instrumentation with the real OpenTelemetry NodeSDK (@opentelemetry/sdk-node 0.30x), in a
 * child process that requires the built @otel-inference/instrumentation, with no
 * otel-inference/register: the way an app that already runs the NodeSDK adds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, startFakeOpenAI } from '../../../helpers/apps.js';
import { INFERENCE_INSTRUMENTATIONS } from '../../../../packages/instrumentation/src/index.js';

let sim: { url: string; close(): Promise<void> };
beforeAll(async () => {
  sim = await startFakeOpenAI();
});
afterAll(async () => {
  await sim.close();
});

describe('OpenAIInstrumentation in the NodeSDK', () => {
  it('records into the SDK, and disable()/enable() unpatch and patch openai again', async () => {
    const res = await run({
      app: 'node-sdk.cjs',
      loader: 'none',
      env: { SIM_URL: sim.url, OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const requests = [{ scope: 'otel-inference', value: 1 }];
    expect(JSON.parse(res.stdout)).toEqual({
      // getInferenceInstrumentations(): every entry of the registry, in its order.
      instrumentations: INFERENCE_INSTRUMENTATIONS.map((entry) => entry.create({ enabled: false }).instrumentationName),
      enabled: { patched: true, requests },
      // Unpatched: the second call is not recorded.
      disabled: { patched: false, requests },
      enabledAgain: { patched: true, requests: [{ scope: 'otel-inference', value: 2 }] },
    });
  });
});
