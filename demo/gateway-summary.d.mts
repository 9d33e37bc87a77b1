// Types for demo/gateway-summary.mjs (hand-written: the module itself is plain JavaScript).
export interface Sample { name: string; labels: Record<string, string>; value: number }
export interface Quantiles { p50: number; p95: number; count: number }
export interface Buckets { boundaries: number[]; counts: number[] }
export interface Outcomes { success: number; error: number; cancelled: number }
export interface GatewaySnapshot {
  at: number;
  serverTtft: Map<string, Buckets | undefined>;
  clientTtft: Map<string, Buckets | undefined>;
  backendTtft: Map<string, Buckets | undefined>;
  backends: Map<string, Outcomes>;
  served: Outcomes;
  fallbacks: Map<string, number>;
}
export interface GatewayRows {
  byModel: { model: string; serverTtft: Quantiles; clientTtft: Quantiles }[];
  byBackend: {
    backend: string;
    requests: Outcomes & { ended: number };
    reqPerSec: number;
    errorPct: number;
    ttft: Quantiles;
    fallbacks: number;
    fallbacksPerSec: number;
  }[];
  fallbacks: { from: string; to: string; reason: string; count: number }[];
  served: Outcomes;
}
export declare function parseExposition(text: string): Sample[];
export declare function gatewaySnapshot(samples: Sample[], at?: number): GatewaySnapshot;
export declare function gatewayRows(now: GatewaySnapshot, before?: GatewaySnapshot): GatewayRows;
export declare function formatGateway(rows: GatewayRows, title: string): string;
export declare function startGatewaySummary(options: { metricsUrl: string; intervalMs?: number; windowSeconds?: number }): {
  ready: Promise<void>;
  text(): string;
  stop(): Promise<void>;
};
