// Types for demo/summary.mjs (hand-written: the module itself is plain JavaScript).
import type { InferenceStats, QuantileStats } from 'otel-inference';

export interface SummaryRow {
  model: string;
  requests: { success: number; error: number; cancelled: number; ended: number };
  reqPerSec: number;
  errorPct: number;
  cancelledPct: number;
  active: number;
  ttft: QuantileStats;
  perChunk: QuantileStats;
  duration: QuantileStats;
  decodeRate: QuantileStats;
  outputTokens: number;
  outputTokensPerSec: number;
}
export declare function rowsOf(stats: InferenceStats, period: 'window' | 'lifetime'): SummaryRow[];
export declare function fmtPair(q: QuantileStats | undefined): string;
export declare function fmtNum(n: number, digits?: number): string;
export declare function formatRows(rows: readonly SummaryRow[]): string;
export declare function startLiveSummary(options: {
  reader: { collect(): Promise<unknown> };
  intervalMs?: number;
  windowSeconds?: number;
  out?: NodeJS.WriteStream;
  header?: () => string;
  footer?: (final: boolean) => string | Promise<string>;
}): { stop(): Promise<SummaryRow[]> };
