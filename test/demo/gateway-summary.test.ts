/**
 * The gateway's part of the live summary, from a known exposition: the window between two scrapes,
 * the quantiles Prometheus' histogram_quantile gives over the same buckets, the fallbacks by from,
 * to and reason.
 */
import { describe, expect, it } from 'vitest';
import { formatGateway, gatewayRows, gatewaySnapshot, parseExposition } from '../../demo/gateway-summary.mjs';

/** A histogram's cumulative `_bucket` lines with the given per-bucket counts over boundaries 0.1, 0.2, 0.4. */
function histogram(name: string, labels: string, counts: [number, number, number, number]): string {
  const les = ['0.1', '0.2', '0.4', '+Inf'];
  let running = 0;
  return les.map((le, i) => `${name}_bucket{${labels},le="${le}"} ${(running += counts[i]!)}`).join('\n');
}

function exposition(scale: number): string {
  return [
    '# TYPE gen_ai_server_time_to_first_token_seconds histogram',
    histogram('gen_ai_server_time_to_first_token_seconds', 'gen_ai_request_model="m"', [0, 2 * scale, 2 * scale, 0]),
    histogram('gen_ai_client_operation_time_to_first_chunk_seconds', 'gen_ai_request_model="m",inference_backend="primary"', [2 * scale, 2 * scale, 0, 0]),
    histogram('gen_ai_client_operation_time_to_first_chunk_seconds', 'gen_ai_request_model="m",inference_backend="secondary"', [0, 0, scale, 0]),
    `inference_requests_total{inference_backend="primary",inference_outcome="success"} ${4 * scale}`,
    `inference_requests_total{inference_backend="primary",inference_outcome="error",error_type="503"} ${scale}`,
    `inference_requests_total{inference_backend="secondary",inference_outcome="success"} ${scale}`,
    `inference_requests_total{gen_ai_request_model="no backend",inference_outcome="success"} 99`,
    `inference_server_requests_total{inference_outcome="success"} ${5 * scale}`,
    `inference_fallbacks_total{inference_fallback_from="primary",inference_fallback_to="secondary",inference_fallback_reason="503"} ${scale}`,
    '',
  ].join('\n');
}

describe('the gateway summary', () => {
  it('reads a window between two scrapes: rates, error shares, TTFT quantiles per model and backend, fallbacks', () => {
    const before = gatewaySnapshot(parseExposition(exposition(1)), 1000);
    const now = gatewaySnapshot(parseExposition(exposition(3)), 11_000);
    const rows = gatewayRows(now, before);
    // The window: scale 3 less scale 1, over 10 s.
    expect(rows.served).toEqual({ success: 10, error: 0, cancelled: 0 });
    expect(rows.fallbacks).toEqual([{ from: 'primary', to: 'secondary', reason: '503', count: 2 }]);
    const [primary, secondary] = rows.byBackend;
    expect(primary).toMatchObject({ backend: 'primary', requests: { success: 8, error: 2, cancelled: 0, ended: 10 }, reqPerSec: 1, errorPct: 20, fallbacks: 2, fallbacksPerSec: 0.2 });
    expect(secondary).toMatchObject({ backend: 'secondary', requests: { success: 2, error: 0, cancelled: 0, ended: 2 }, reqPerSec: 0.2, errorPct: 0 });
    // Primary's TTFT: 4 in (0, 0.1] and 4 in (0.1, 0.2]: p50 at 0.1, p95 at 0.1 + 0.1 * 3.6 / 4.
    expect(primary!.ttft.p50).toBeCloseTo(0.1, 12);
    expect(primary!.ttft.p95).toBeCloseTo(0.19, 12);
    const [model] = rows.byModel;
    // Server TTFT of the model: 4 in (0.1, 0.2], 4 in (0.2, 0.4]; client: both backends' buckets together.
    expect(model).toMatchObject({ model: 'm', serverTtft: { p50: 0.2, count: 8 }, clientTtft: { count: 10 } });
    expect(model!.clientTtft.p50).toBeCloseTo(0.1 + 0.1 * (5 - 4) / 4, 12);

    const text = formatGateway(rows, 'title');
    expect(text.split('\n')).toEqual([
      'title',
      'model             server TTFT p50 / p95  client TTFT p50 / p95',
      'm                         200ms / 380ms          125ms / 350ms',
      'backend            req/s   err%    TTFT p50 / p95  fallbacks to the next',
      'primary             1.00   20.0     100ms / 190ms  0.20/s (→ secondary 503: 2)',
      'secondary           0.20    0.0     300ms / 390ms  -',
    ]);
  });

  it('groups server TTFT by the requested model, else by the model that answered', () => {
    const text = [
      histogram('gen_ai_server_time_to_first_token_seconds', 'gen_ai_response_model="answered"', [1, 0, 0, 0]),
      histogram('gen_ai_server_time_to_first_token_seconds', 'gen_ai_request_model="asked",gen_ai_response_model="answered"', [0, 1, 0, 0]),
      '',
    ].join('\n');
    const rows = gatewayRows(gatewaySnapshot(parseExposition(text), 1));
    expect(rows.byModel.map((r) => [r.model, r.serverTtft.count])).toEqual([
      ['answered', 1],
      ['asked', 1],
    ]);
  });

  it('without an earlier scrape, counts everything since the start, with no rate', () => {
    const rows = gatewayRows(gatewaySnapshot(parseExposition(exposition(1)), 5000));
    expect(rows.byBackend[0]).toMatchObject({ requests: { ended: 5 }, reqPerSec: NaN });
    expect(rows.fallbacks).toEqual([{ from: 'primary', to: 'secondary', reason: '503', count: 1 }]);
  });
});
