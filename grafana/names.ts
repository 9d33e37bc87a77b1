/**
 * Every Prometheus metric and label name the dashboard, the PromQL lint and the pipeline
 * tests use, in one place:
 *
 * - otel-inference's own metrics and labels come from the library's table
 *   (PROMETHEUS_METRIC / PROMETHEUS_LABEL, derived from semconv.ts by prometheusName);
 * - the HTTP metrics of @opentelemetry/instrumentation-http (stable HTTP semconv), which the
 *   dashboard shows too, are declared here once, by their OTel name, unit and kind, and
 *   translated by the same function.
 *
 * It also renders the Markdown table of metric names for the docs:
 *
 *   npx tsx grafana/names.ts          # prints the table (paste it between the
 *                                     # <!-- metric-names:start/end --> markers in docs/metrics.md)
 */
import { fileURLToPath } from 'node:url';

import {
  PROMETHEUS_LABEL,
  PROMETHEUS_METRIC,
  prometheusLabel,
  prometheusMetric,
  type PrometheusMetric,
} from '../packages/instrumentation/src/prometheus-names.js';

export { PROMETHEUS_LABEL, PROMETHEUS_METRIC, type PrometheusMetric };
export { ATTR, INSTRUMENT, METRIC, OUTCOME } from '../packages/instrumentation/src/semconv.js';

/** The @opentelemetry/instrumentation-http metrics the dashboard shows (HTTP semconv, stable). */
export const HTTP_METRIC = {
  serverDuration: prometheusMetric({ name: 'http.server.request.duration', unit: 's', kind: 'histogram' }),
  clientDuration: prometheusMetric({ name: 'http.client.request.duration', unit: 's', kind: 'histogram' }),
} as const satisfies Record<string, PrometheusMetric>;

/** Attributes of the HTTP metrics the dashboard groups by. */
export const HTTP_ATTR = {
  statusCode: 'http.response.status_code',
  route: 'http.route',
  serverAddress: 'server.address',
} as const;

/** Their Prometheus label names. */
export const HTTP_LABEL: { readonly [K in keyof typeof HTTP_ATTR]: string } = {
  statusCode: prometheusLabel(HTTP_ATTR.statusCode),
  route: prometheusLabel(HTTP_ATTR.route),
  serverAddress: prometheusLabel(HTTP_ATTR.serverAddress),
};

/** Every Prometheus series name of otel-inference's own metrics. */
export const INFERENCE_SERIES: ReadonlySet<string> = new Set(Object.values(PROMETHEUS_METRIC).flatMap((m) => m.series));

/** Every Prometheus series name of the HTTP metrics above. */
export const HTTP_SERIES: ReadonlySet<string> = new Set(Object.values(HTTP_METRIC).flatMap((m) => m.series));

/** The metrics in the names table, in its order: otel-inference's, then the HTTP ones. */
export const TABLE_METRICS: readonly PrometheusMetric[] = [...Object.values(PROMETHEUS_METRIC), ...Object.values(HTTP_METRIC)];

/** Marker comments around the rendered table in docs/metrics.md. */
export const TABLE_START = '<!-- metric-names:start -->';
export const TABLE_END = '<!-- metric-names:end -->';

/**
 * The Markdown table of metric names (OTel instrument, kind, unit, Prometheus type and
 * series), rendered from the tables above. docs/metrics.md carries it verbatim between
 * TABLE_START and TABLE_END (test/pipeline/names.test.ts checks that).
 */
export function renderMetricNamesTable(): string {
  const code = (s: string) => `\`${s}\``;
  const rows = TABLE_METRICS.map((m) =>
    `| ${code(m.otelName)} | ${m.kind} | ${m.unit ? code(m.unit) : ''} | ${m.type} | ${m.series.map(code).join(', ')} |`,
  );
  return [
    '| OTel instrument | kind | unit | Prometheus type | Prometheus series |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) console.log(renderMetricNamesTable());
