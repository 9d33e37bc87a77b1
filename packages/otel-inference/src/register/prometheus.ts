/**
 * The embedded Prometheus endpoint, with the metric names the OpenTelemetry Collector's
 * `prometheus` exporter writes, so that one dashboard serves both paths.
 *
 * @opentelemetry/exporter-prometheus 0.223 has no option to append unit suffixes
 * (`gen_ai.client.operation.duration` in `s` becomes `gen_ai_client_operation_duration`,
 * where the collector writes `gen_ai_client_operation_duration_seconds`). Its serializer
 * is kept whole; only the metric names handed to it get the unit suffix first, following
 * the collector's translation (prometheus/otlptranslator, "UnderscoreEscapingWithSuffixes"):
 * `{annotations}` are dropped, the main unit is spelled out (s → seconds, By → bytes…),
 * `x/y` adds `_per_<y>`, and a suffix that already is a token of the name is not repeated.
 * The serializer then adds `_total` to monotonic sums, as both do.
 */
import { PrometheusExporter, PrometheusSerializer, type ExporterConfig } from '@opentelemetry/exporter-prometheus';
import { diag } from '@opentelemetry/api';
import { DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

const MAIN_UNITS: Record<string, string> = {
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
  '%': 'percent',
};

const PER_UNITS: Record<string, string> = {
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

/** The unit part of a unit string, as the collector spells it in a metric name (may be empty). */
function unitWord(unit: string, table: Record<string, string>): string {
  const u = unit.replace(/\{[^}]*\}/g, '').trim();
  if (u === '' || u === '1') return '';
  return table[u] ?? sanitize(u);
}

/**
 * `name` (OTel form) with the collector's unit suffixes appended. Like the collector's
 * translator, a suffix is skipped only when it already is one `_`-separated token of the
 * name: `request.duration_seconds` in `s` stays as is, while a `{token}/s` metric always gets
 * `_per_second` ("per_second" is two tokens). Exported for tests.
 */
export function nameWithUnit(name: string, unit: string | undefined, isGauge: boolean): string {
  if (!unit) return name;
  const base = sanitize(name);
  const tokens = base.split('_');
  const [mainRaw = '', perRaw] = unit.split('/');
  const main = unitWord(mainRaw, MAIN_UNITS);
  const per = perRaw === undefined ? '' : unitWord(perRaw, PER_UNITS);
  let out = base;
  if (main && !tokens.includes(main)) out += `_${main}`;
  if (per && !tokens.includes(`per_${per}`)) out += `_per_${per}`;
  if (unit.trim() === '1' && isGauge && !tokens.includes('ratio')) out += '_ratio';
  return out === base ? name : out;
}

/** A PrometheusSerializer that names metrics as the collector's prometheus exporter does. */
export class CollectorNamingSerializer extends PrometheusSerializer {
  override serialize(resourceMetrics: ResourceMetrics): string {
    const renamed: ResourceMetrics = {
      resource: resourceMetrics.resource,
      scopeMetrics: resourceMetrics.scopeMetrics.map((sm) => ({
        ...sm,
        metrics: sm.metrics.map((m) => {
          const isGauge =
            m.dataPointType === DataPointType.SUM ? !m.isMonotonic : m.dataPointType === DataPointType.GAUGE;
          const name = nameWithUnit(m.descriptor.name, m.descriptor.unit, isGauge);
          return name === m.descriptor.name ? m : ({ ...m, descriptor: { ...m.descriptor, name } } as typeof m);
        }),
      })),
    };
    return super.serialize(renamed as Parameters<PrometheusSerializer['serialize']>[0]);
  }
}

/** The OTel JS Prometheus exporter (its HTTP server, host/port handling), with the collector's naming. */
export class CollectorNamingPrometheusExporter extends PrometheusExporter {
  constructor(config: ExporterConfig = {}) {
    super(config);
    const self = this as unknown as { _serializer?: unknown };
    if (self._serializer instanceof PrometheusSerializer) {
      self._serializer = new CollectorNamingSerializer(
        config.prefix,
        config.appendTimestamp ?? false,
        config.withResourceConstantLabels,
        config.withoutTargetInfo,
        config.withoutScopeInfo,
      );
    } else {
      diag.warn('@opentelemetry/exporter-prometheus changed its internals: metric names keep no unit suffix');
    }
  }
}
