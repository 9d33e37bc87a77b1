/**
 * The windows Grafana's Prometheus data source gives a panel query, and the settings they come
 * from, so that tests can evaluate the dashboard's queries with the windows Grafana would use.
 *
 * Grafana 11 (the Prometheus data source, evaluated in the backend):
 *
 *   $__interval      = max(time range / max data points (rounded to a round value), min interval)
 *   $__rate_interval = max($__interval + S, 4 × S)
 *
 * where the min interval and S are the query's "Min step" when it has one, else the data source's
 * `timeInterval` ("Scrape interval" in its settings; 15 s when unset). The dashboard sets no Min
 * step, so the data source's `timeInterval` (grafana/provisioning/datasources/prometheus.yml)
 * decides both. The shortest windows come with the shortest ranges: $__interval = the min interval,
 * $__rate_interval = 4 × timeInterval.
 *
 * A counter in Prometheus changes once per export of the app (OTEL_METRIC_EXPORT_INTERVAL,
 * DEFAULTS.exportIntervalMillis = 60 s), not once per scrape. A rate window must hold several
 * exports, so `timeInterval` must be at least the export interval (docs/pipeline.md).
 */
import { DEFAULTS } from '../../packages/otel-inference/src/register/config.js';
import { read } from './tools.js';

/** Seconds of a Prometheus / Grafana duration: `500ms`, `15s`, `1m`, `1h`, `1d`, or a sum such as `1m30s`. */
export function seconds(duration: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  const parts = [...duration.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration.trim()) throw new Error(`not a duration: ${duration}`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (units[p[2] as string] as number), 0);
}

/** The library's default export interval (OTEL_METRIC_EXPORT_INTERVAL unset), in seconds. */
export const DEFAULT_EXPORT_INTERVAL_S = DEFAULTS.exportIntervalMillis / 1000;

/** Grafana's fallback when the data source sets no timeInterval. */
export const GRAFANA_DEFAULT_TIME_INTERVAL_S = 15;

/** `jsonData.timeInterval` of the provisioned Prometheus data source, in seconds (Grafana's 15 s when unset). */
export function datasourceTimeInterval(text = read('grafana', 'provisioning', 'datasources', 'prometheus.yml')): number {
  const m = /^\s*timeInterval:\s*["']?([0-9a-z.]+)["']?\s*(?:#.*)?$/m.exec(text);
  return m ? seconds(m[1] as string) : GRAFANA_DEFAULT_TIME_INTERVAL_S;
}

/** `global.scrape_interval` of prometheus/prometheus.yml, in seconds (Prometheus' 1 m when unset). */
export function prometheusScrapeInterval(text = read('prometheus', 'prometheus.yml')): number {
  const m = /^global:\s*\n(?:[ \t]+.*\n)*?[ \t]+scrape_interval:\s*(\S+)/m.exec(text);
  return m ? seconds(m[1] as string) : 60;
}

/** Grafana's $__rate_interval for a query evaluated every `interval` s, S = `scrape` s (the data source's timeInterval). */
export function rateInterval(interval: number, scrape: number): number {
  return Math.max(interval + scrape, 4 * scrape);
}

/**
 * $__interval and $__rate_interval of a dashboard query (no Min step of its own) on a data source
 * with this `timeInterval`, when the range over the panel's data points is `perPoint` seconds
 * (by default the shortest: the min interval itself).
 */
export function grafanaWindows(timeInterval: number, perPoint = 0): { interval: number; rateInterval: number } {
  const interval = Math.max(perPoint, timeInterval);
  return { interval, rateInterval: rateInterval(interval, timeInterval) };
}
