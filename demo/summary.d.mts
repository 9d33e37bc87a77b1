// Types for demo/summary.mjs (hand-written: the module itself is plain JavaScript).
export declare const METRIC: Readonly<Record<'duration' | 'tokenUsage' | 'ttft' | 'perChunk' | 'requests' | 'active' | 'tokenRate', string>>;
export interface Quantiles { p50: number; p95: number; count: number }
export interface SummaryRow {
  model: string;
  requests: { success: number; error: number; cancelled: number; ended: number };
  reqPerSec: number;
  errorPct: number;
  cancelledPct: number;
  active: number;
  ttft: Quantiles;
  perChunk: Quantiles;
  duration: Quantiles;
  decodeRate: Quantiles;
  outputTokens: number;
  outputTokensPerSec: number;
}
export interface Snapshot { at: number; models: Map<string, unknown> }
export declare function takeSnapshot(collected: unknown, at?: number): Snapshot;
export declare function computeRows(now: Snapshot, before: Snapshot | undefined): SummaryRow[];
export declare function formatRows(rows: readonly SummaryRow[]): string;
export declare function startLiveSummary(options: {
  reader: { collect(): Promise<unknown> };
  intervalMs?: number;
  windowSeconds?: number;
  out?: NodeJS.WriteStream;
  header?: () => string;
  footer?: () => string;
}): { stop(): Promise<SummaryRow[]> };
