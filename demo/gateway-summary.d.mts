// Types for demo/gateway-summary.mjs (hand-written: the module itself is plain JavaScript).
import type { FallbackCount, InferenceStats, QuantileStats, RequestCounts } from 'otel-inference';

export interface GatewaySideRow {
  requests: RequestCounts;
  reqPerSec: number;
  errorPct: number;
  ttft: QuantileStats;
}
export interface GatewayRows {
  /** The period's seconds: the window's span, or the gateway's uptime. */
  seconds: number;
  byModel: {
    model: string;
    /** The gateway's callers' view (absent for a model it never served). */
    server: GatewaySideRow | undefined;
    /** Its calls to the backends, all of them. */
    client: GatewaySideRow | undefined;
    /** Its calls, by inference.backend. */
    backends: (GatewaySideRow & { backend: string })[];
  }[];
  /** The fallbacks of the period, those with a count. */
  fallbacks: FallbackCount[];
  fallbacksPerSec: number;
}
export declare function gatewayRows(stats: InferenceStats, period: 'window' | 'lifetime'): GatewayRows;
export declare function formatGateway(rows: GatewayRows, title: string): string;
export declare function readGatewaySection(statsUrl: string, final?: boolean): Promise<string>;
