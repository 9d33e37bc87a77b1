/**
 * The gateway's part of the live summary, from a known /v1/stats document: which field goes in
 * which column, for the window and for the lifetime, and the fallbacks by from, to and reason.
 * Nothing is computed by the demo: the numbers shown are the document's.
 */
import { describe, expect, it } from 'vitest';
import type { ClientPeriodStats, InferenceStats, QuantileStats, ServerPeriodStats } from 'otel-inference';
import { formatGateway, gatewayRows } from '../../demo/gateway-summary.mjs';

const NONE: QuantileStats = { count: 0, sum: 0, p50: null, p95: null, p99: null };
const q = (count: number, p50: number, p95: number): QuantileStats => ({ count, sum: count * p50, p50, p95, p99: p95 });

function client(success: number, error: number, seconds: number, ttft: QuantileStats): ClientPeriodStats {
  const total = success + error;
  return {
    requests: { total, success, error, cancelled: 0 },
    error_rate: total > 0 ? error / total : null,
    requests_per_s: seconds > 0 ? total / seconds : null,
    duration_s: NONE,
    ttft_s: ttft,
    time_per_output_chunk_s: NONE,
    tokens: { input: 0, output: 0 },
    output_tokens_per_s: null,
    output_token_rate: NONE,
  };
}

function server(success: number, error: number, seconds: number, ttft: QuantileStats): ServerPeriodStats {
  const { time_per_output_chunk_s: _, ...rest } = client(success, error, seconds, ttft);
  return { ...rest, time_per_output_token_s: NONE, queue_s: NONE };
}

/** A gateway that ran 100 s, with a 10 s window: one chat model through two backends, one embedding model. */
const STATS: InferenceStats = {
  schema_version: 1,
  time: '2025-06-01T12:00:00.000Z',
  uptime_s: 100,
  window: { target_s: 10, seconds: 10, complete: true },
  models: [
    {
      model: 'llama-3.1-8b',
      client: { active: 1, lifetime: client(90, 10, 100, q(90, 0.3, 0.6)), window: client(9, 1, 10, q(9, 0.28, 0.5)) },
      server: { active: 1, waiting: 0, lifetime: server(88, 2, 100, q(88, 0.4, 0.9)), window: server(10, 0, 10, q(10, 0.36, 0.75)) },
      backends: [
        { backend: 'primary', active: 1, lifetime: client(80, 10, 100, q(80, 0.25, 0.5)), window: client(7, 1, 10, q(7, 0.24, 0.4)) },
        { backend: 'secondary', active: 0, lifetime: client(10, 0, 100, q(10, 0.6, 1.1)), window: client(2, 0, 10, q(2, 0.55, 1.2)) },
      ],
    },
    {
      model: 'bge-small-sim',
      client: { active: 0, lifetime: client(5, 0, 100, NONE), window: client(0, 0, 10, NONE) },
      server: { active: 0, waiting: 0, lifetime: server(5, 0, 100, NONE), window: server(0, 0, 10, NONE) },
      backends: [{ backend: 'primary', active: 0, lifetime: client(5, 0, 100, NONE), window: client(0, 0, 10, NONE) }],
    },
    // Nothing ended here yet (the active gauge's series, before the model is known): left out.
    { model: 'idle', server: { active: 1, waiting: 0, lifetime: server(0, 0, 100, NONE), window: server(0, 0, 10, NONE) } },
    // Series with no model (a call that named none): a client side only.
    { model: null, client: { active: 0, lifetime: client(1, 0, 100, NONE), window: client(0, 0, 10, NONE) } },
  ],
  fallbacks: {
    lifetime: [
      { from: 'primary', to: 'secondary', reason: '503', count: 8 },
      { from: 'primary', to: 'secondary', reason: '500', count: 2 },
    ],
    window: [
      { from: 'primary', to: 'secondary', reason: '503', count: 1 },
      { from: 'primary', to: 'secondary', reason: '500', count: 0 },
    ],
  },
};

describe('the gateway summary, from the gateway’s /v1/stats', () => {
  it('the window: server beside client TTFT per model, each backend under its model, the fallbacks of the window', () => {
    const rows = gatewayRows(STATS, 'window');
    expect(rows.seconds).toBe(10);
    const [llama] = rows.byModel;
    expect(llama).toMatchObject({
      model: 'llama-3.1-8b',
      server: { reqPerSec: 1, errorPct: 0, ttft: { p50: 0.36, p95: 0.75 } },
      client: { reqPerSec: 1, errorPct: 10, ttft: { p50: 0.28, p95: 0.5 } },
    });
    expect(llama!.backends.map((b) => [b.backend, b.reqPerSec, b.errorPct, b.ttft.p50])).toEqual([
      ['primary', 0.8, 12.5, 0.24],
      ['secondary', 0.2, 0, 0.55],
    ]);
    // A fallback reason with no count in the window is left out.
    expect(rows.fallbacks).toEqual([{ from: 'primary', to: 'secondary', reason: '503', count: 1 }]);
    expect(rows.fallbacksPerSec).toBeCloseTo(0.1, 12);

    expect(formatGateway(rows, 'title').split('\n')).toEqual([
      'title',
      'model / backend    req/s   err%  server TTFT p50 / p95  client TTFT p50 / p95',
      'llama-3.1-8b        1.00    0.0          360ms / 750ms          280ms / 500ms',
      '  primary           0.80   12.5                                 240ms / 400ms',
      '  secondary         0.20    0.0                                 550ms / 1.20s',
      'bge-small-sim       0.00      -                      -                      -',
      '  primary           0.00      -                                             -',
      '(no model)          0.00      -                      -                      -',
      'fallbacks: 0.10/s (primary → secondary 503: 1)',
    ]);
  });

  it('the lifetime: the same fields over the uptime, every fallback reason', () => {
    const rows = gatewayRows(STATS, 'lifetime');
    expect(rows.seconds).toBe(100);
    expect(rows.byModel[0]).toMatchObject({ server: { reqPerSec: 0.9, ttft: { p50: 0.4 } }, client: { reqPerSec: 1, ttft: { p50: 0.3 } } });
    expect(rows.fallbacks.map((f) => [f.reason, f.count])).toEqual([
      ['503', 8],
      ['500', 2],
    ]);
    expect(rows.fallbacksPerSec).toBeCloseTo(0.1, 12);
    const text = formatGateway(rows, 'title');
    expect(text).toContain('llama-3.1-8b        0.90    2.2          400ms / 900ms          300ms / 600ms');
    expect(text).toContain('fallbacks: 0.10/s (primary → secondary 503: 8, primary → secondary 500: 2)');
  });

  it('before any request: says so, and no fallbacks', () => {
    const empty: InferenceStats = { ...STATS, models: [], fallbacks: { lifetime: [], window: [] } };
    expect(formatGateway(gatewayRows(empty, 'window'), 'title').split('\n').slice(2)).toEqual(['  (no request through the gateway yet)', 'fallbacks: none']);
  });
});
