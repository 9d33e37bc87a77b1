/**
 * The gateway's part of the live summary: a /v1/stats document of a gateway, printed. Every
 * number is the document's; the rows only add the backends' calls up over the models.
 */
import { describe, expect, it } from 'vitest';
import type { BackendStats, InferenceStats, ModelStats, QuantileStats } from '../../packages/instrumentation/src/index.js';
import { formatGateway, gatewayRows } from '../../demo/gateway-summary.mjs';

const q = (p50: number | null, p95: number | null, count = 1): QuantileStats => ({ count, sum: 0, p50, p95, p99: p95 });
const NONE = q(null, null, 0);

/** One period of a side: only the fields the summary reads matter here. */
function period(total: number, error: number, seconds: number, ttft: QuantileStats) {
  return {
    requests: { total, success: total - error, error, cancelled: 0 },
    error_rate: total > 0 ? error / total : null,
    requests_per_s: total / seconds,
    duration_s: NONE,
    ttft_s: ttft,
    tokens: { input: 0, output: 0 },
    output_tokens_per_s: null,
    output_token_rate: NONE,
    time_per_output_chunk_s: NONE,
    time_per_output_token_s: NONE,
    queue_s: NONE,
  };
}

function backend(name: string, total: number, error: number, ttft: QuantileStats): BackendStats {
  return { backend: name, active: 0, window: period(total, error, 10, ttft), lifetime: period(2 * total, 2 * error, 40, ttft) } as BackendStats;
}

const stats = {
  schema_version: 1,
  time: '2025-06-01T12:00:00.000Z',
  uptime_s: 40,
  window: { target_s: 10, seconds: 10, complete: true },
  models: [
    {
      model: 'llama',
      server: { active: 0, waiting: 0, window: period(10, 0, 10, q(0.3, 0.6)), lifetime: period(20, 0, 40, q(0.3, 0.6)) },
      client: { active: 0, window: period(12, 2, 10, q(0.25, 0.55)), lifetime: period(24, 4, 40, q(0.25, 0.55)) },
      backends: [backend('primary', 10, 2, q(0.2, 0.4)), backend('secondary', 2, 0, q(0.8, 1.5))],
    },
    {
      model: 'bge',
      server: { active: 0, waiting: 0, window: period(5, 0, 10, NONE), lifetime: period(10, 0, 40, NONE) },
      client: { active: 0, window: period(5, 0, 10, NONE), lifetime: period(10, 0, 40, NONE) },
      backends: [backend('primary', 5, 0, NONE)],
    },
    {
      // A served request's active gauge before its model was known: no row.
      model: null,
      server: { active: 0, waiting: 0, window: period(0, 0, 10, NONE), lifetime: period(0, 0, 40, NONE) },
    },
  ] as ModelStats[],
  fallbacks: {
    window: [
      { from: 'primary', to: 'secondary', reason: '503', count: 2 },
    ],
    lifetime: [
      { from: 'primary', to: 'secondary', reason: '503', count: 4 },
      { from: 'primary', to: 'secondary', reason: '500', count: 1 },
    ],
  },
} as InferenceStats;

describe('the gateway summary', () => {
  it('prints server beside client TTFT per model, each backend\'s TTFT, and per backend its calls, errors and fallbacks', () => {
    const rows = gatewayRows(stats, 'window');
    expect(rows.backendNames).toEqual(['primary', 'secondary']);
    expect(rows.byBackend).toEqual([
      { backend: 'primary', callsPerSec: 1.5, errorRate: 2 / 15, fallbacks: [{ from: 'primary', to: 'secondary', reason: '503', count: 2 }], fallbacksPerSec: 0.2 },
      { backend: 'secondary', callsPerSec: 0.2, errorRate: 0, fallbacks: [], fallbacksPerSec: 0 },
    ]);
    expect(formatGateway(rows, 'title').split('\n')).toEqual([
      'title',
      'model             served/s      server TTFT      client TTFT     primary TTFT   secondary TTFT',
      'llama                 1.00    300ms / 600ms    250ms / 550ms    200ms / 400ms    800ms / 1.50s',
      'bge                   0.50                -                -                -                -',
      'backend            calls/s   err%  fallbacks to the next',
      'primary               1.50   13.3  0.20/s (→ secondary 503: 2)',
      'secondary             0.20    0.0  -',
    ]);
  });

  it('over the lifetime: the lifetime counts over the uptime', () => {
    const rows = gatewayRows(stats, 'lifetime');
    expect(rows.seconds).toBe(40);
    expect(rows.byBackend[0]).toMatchObject({ callsPerSec: 30 / 40, fallbacksPerSec: 5 / 40 });
    expect(formatGateway(rows, 't')).toContain('primary               0.75   13.3  0.13/s (→ secondary 503: 4, → secondary 500: 1)');
  });

  it('before any request', () => {
    const empty = { ...stats, models: [], fallbacks: { window: [], lifetime: [] } } as InferenceStats;
    expect(formatGateway(gatewayRows(empty, 'window'), 't').split('\n').slice(2)).toEqual(['  (no request through the gateway yet)']);
  });
});
