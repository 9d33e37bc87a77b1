/**
 * Prometheus names of the otel-inference metrics, derived from the semconv tables with the
 * OpenTelemetry Collector's translation (prometheus/otlptranslator, translation strategy
 * `UnderscoreEscapingWithSuffixes`, which the collector config in this repo uses):
 *
 * - the name is split into tokens at every character other than `[a-zA-Z0-9:]` and joined
 *   with `_` (so dots become `_`, runs of `_` collapse);
 * - the unit is appended: a unit containing `{...}` adds nothing (`{token}`), known units are
 *   spelled out (`s` → `seconds`, `By` → `bytes`…), `x/y` adds `_per_<y>` (`/s` →
 *   `_per_second`); a suffix that already is one token of the name is not repeated (note
 *   that `per_second` is two tokens, so `x_per_second` in `{token}/s` gets it again);
 * - a monotonic counter ends in `_total` (a `total` token elsewhere moves to the end);
 * - a gauge (not an up-down counter) in unit `1` ends in `_ratio`.
 *
 * The embedded Prometheus endpoint of `otel-inference/register` names its metrics with the
 * same function, so the collector path and the embedded path show the same series.
 */
import {
  ATTR,
  GATEWAY_INSTRUMENT,
  GPU_INSTRUMENT,
  HOST_INSTRUMENT,
  INSTRUMENT,
  SERVER_GAUGE,
  SERVER_INSTRUMENT,
  type GatewayInstrumentKey,
  type GpuInstrumentKey,
  type HostInstrumentKey,
  type InstrumentKey,
  type InstrumentKind,
  type ServerGaugeKey,
  type ServerInstrumentKey,
} from './semconv.js';

const MAIN_UNITS: Readonly<Record<string, string>> = {
  d: 'days',
  h: 'hours',
  min: 'minutes',
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  GiBy: 'gibibytes',
  TiBy: 'tibibytes',
  KBy: 'kilobytes',
  MBy: 'megabytes',
  GBy: 'gigabytes',
  TBy: 'terabytes',
  m: 'meters',
  V: 'volts',
  A: 'amperes',
  J: 'joules',
  W: 'watts',
  g: 'grams',
  Cel: 'celsius',
  Hz: 'hertz',
  '1': '',
  '%': 'percent',
};

const PER_UNITS: Readonly<Record<string, string>> = {
  s: 'second',
  m: 'minute',
  h: 'hour',
  d: 'day',
  w: 'week',
  mo: 'month',
  y: 'year',
};

function sanitize(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_').replace(/^_+|_+$/g, '');
}

/** One side of a unit as the collector spells it in a metric name: '' for none or for `{annotations}`. */
function unitWord(unit: string | undefined, table: Readonly<Record<string, string>>): string {
  const u = (unit ?? '').trim();
  if (u === '' || /[{}]/.test(u)) return '';
  return sanitize(table[u] ?? u);
}

/** The tokens of `name` with the collector's unit suffixes appended. */
function withUnitTokens(name: string, unit: string | undefined): string[] {
  const tokens = sanitize(name).split('_').filter((t) => t !== '');
  const [mainRaw, perRaw] = (unit ?? '').split(/\/(.*)/s, 2);
  const main = unitWord(mainRaw, MAIN_UNITS);
  const per = unitWord(perRaw, PER_UNITS);
  if (main && !tokens.includes(main)) tokens.push(main);
  if (per && !tokens.includes(`per_${per}`)) tokens.push(`per_${per}`);
  return tokens;
}

/**
 * `name` (OTel form) with the collector's unit suffixes appended, and unchanged (dots kept)
 * when there is none to add; `isGauge` adds `_ratio` for unit `1`. The lower-level form of
 * {@link prometheusName}, without `_total`, kept for callers that add `_total` themselves.
 */
export function nameWithUnit(name: string, unit: string | undefined, isGauge: boolean): string {
  if (!unit) return name;
  const base = sanitize(name);
  const tokens = withUnitTokens(name, unit);
  if (unit.trim() === '1' && isGauge && !tokens.includes('ratio')) tokens.push('ratio');
  const out = tokens.join('_');
  return out === base ? name : out;
}

/**
 * The Prometheus metric name the OpenTelemetry Collector (and otel-inference's embedded
 * `/metrics`) gives an OTel instrument: the name on its `# TYPE` line, with the unit suffix
 * and, for a counter, `_total`. A histogram's series add `_bucket`, `_sum` and `_count`.
 *
 * @example prometheusName('gen_ai.client.operation.duration', 's', 'histogram') // 'gen_ai_client_operation_duration_seconds'
 * @example prometheusName('inference.requests', '{request}', 'counter') // 'inference_requests_total'
 */
export function prometheusName(name: string, unit: string | undefined, kind: InstrumentKind): string {
  let tokens = withUnitTokens(name, unit);
  if (kind === 'counter') tokens = [...tokens.filter((t) => t !== 'total'), 'total'];
  if (kind === 'gauge' && (unit ?? '').trim() === '1') tokens = [...tokens.filter((t) => t !== 'ratio'), 'ratio'];
  return tokens.join('_');
}

/**
 * The Prometheus label name the collector gives an attribute key: every character other
 * than `[a-zA-Z0-9_]` becomes `_` (runs collapse), and a leading digit gets `key_`.
 *
 * @example prometheusLabel('gen_ai.request.model') // 'gen_ai_request_model'
 */
export function prometheusLabel(attribute: string): string {
  const name = attribute.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');
  return /^[0-9]/.test(name) ? `key_${name}` : name;
}

/** The Prometheus side of one OTel instrument. */
export interface PrometheusMetric {
  /** The OTel instrument name, e.g. `gen_ai.client.operation.duration`. */
  readonly otelName: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  /** The Prometheus metric name (as on the `# TYPE` line), e.g. `gen_ai_client_operation_duration_seconds`. */
  readonly name: string;
  /** The Prometheus metric type: an up-down counter is a `gauge`. */
  readonly type: 'histogram' | 'counter' | 'gauge';
  /**
   * Every series name Prometheus stores for it: `<name>_bucket`, `<name>_sum`, `<name>_count`
   * for a histogram, `<name>` (ending in `_total`) for a counter, `<name>` for a gauge.
   */
  readonly series: readonly string[];
}

/** The Prometheus names of any OTel instrument (`name`, `unit`, `kind`), as the collector writes them. */
export function prometheusMetric(instrument: { readonly name: string; readonly unit?: string; readonly kind: InstrumentKind }): PrometheusMetric {
  const name = prometheusName(instrument.name, instrument.unit, instrument.kind);
  const type = instrument.kind === 'histogram' ? 'histogram' : instrument.kind === 'counter' ? 'counter' : 'gauge';
  return {
    otelName: instrument.name,
    kind: instrument.kind,
    unit: instrument.unit ?? '',
    name,
    type,
    series: type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
  };
}

function mapValues<T extends object, U>(table: T, fn: (value: T[keyof T]) => U): { readonly [K in keyof T]: U } {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, fn(v as T[keyof T])])) as { [K in keyof T]: U };
}

/**
 * The Prometheus names of every otel-inference instrument, keyed like `METRIC` and
 * `INSTRUMENT`: for example `PROMETHEUS_METRIC.operationDuration.name` is
 * `gen_ai_client_operation_duration_seconds`, and `PROMETHEUS_METRIC.requests.series` is
 * `['inference_requests_total']`. For dashboards and alerts written by hand.
 */
export const PROMETHEUS_METRIC: { readonly [K in InstrumentKey]: PrometheusMetric } = mapValues(INSTRUMENT, prometheusMetric);

/** The Prometheus names of the serving-side instruments, keyed like `SERVER_INSTRUMENT`. */
export const PROMETHEUS_SERVER_METRIC: { readonly [K in ServerInstrumentKey]: PrometheusMetric } = mapValues(
  SERVER_INSTRUMENT,
  prometheusMetric,
);

/** The Prometheus names of the well-known server gauges, keyed like `SERVER_GAUGE`. */
export const PROMETHEUS_SERVER_GAUGE: { readonly [K in ServerGaugeKey]: PrometheusMetric } = mapValues(SERVER_GAUGE, prometheusMetric);

/** The Prometheus names of the gateway instruments, keyed like `GATEWAY_INSTRUMENT`. */
export const PROMETHEUS_GATEWAY_METRIC: { readonly [K in GatewayInstrumentKey]: PrometheusMetric } = mapValues(
  GATEWAY_INSTRUMENT,
  prometheusMetric,
);

/** The Prometheus names of the GPU gauges, keyed like `GPU_INSTRUMENT`. */
export const PROMETHEUS_GPU_METRIC: { readonly [K in GpuInstrumentKey]: PrometheusMetric } = mapValues(GPU_INSTRUMENT, prometheusMetric);

/**
 * The Prometheus names of the host and process metrics of @opentelemetry/instrumentation-host-metrics,
 * keyed like `HOST_INSTRUMENT`: e.g. `system_cpu_time_seconds_total`, and `system_memory_usage` (no
 * unit suffix: the library gives that gauge no unit).
 */
export const PROMETHEUS_HOST_METRIC: { readonly [K in HostInstrumentKey]: PrometheusMetric } = mapValues(HOST_INSTRUMENT, prometheusMetric);

/**
 * The Prometheus label name of every attribute otel-inference records, keyed like `ATTR`:
 * for example `PROMETHEUS_LABEL.requestModel` is `gen_ai_request_model`.
 */
export const PROMETHEUS_LABEL: { readonly [K in keyof typeof ATTR]: string } = mapValues(ATTR, prometheusLabel);
