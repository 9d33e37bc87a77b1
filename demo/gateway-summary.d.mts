// Types for demo/gateway-summary.mjs (hand-written: the module itself is plain JavaScript).
import type { FallbackCount, InferenceStats, QuantileStats } from 'otel-inference';

export interface GatewayRows {
  period: 'window' | 'lifetime';
  seconds: number;
  backendNames: string[];
  byModel: {
    model: string;
    servedPerSec: number | null;
    serverTtft: QuantileStats | undefined;
    clientTtft: QuantileStats | undefined;
    backends: Record<string, QuantileStats>;
  }[];
  byBackend: { backend: string; callsPerSec: number | null; errorRate: number | null; fallbacks: FallbackCount[]; fallbacksPerSec: number | null }[];
}
export declare function gatewayRows(stats: InferenceStats, period: 'window' | 'lifetime'): GatewayRows;
export declare function formatGateway(rows: GatewayRows, title: string): string;
export declare function readGatewaySection(statsUrl: string, final?: boolean): Promise<string>;
