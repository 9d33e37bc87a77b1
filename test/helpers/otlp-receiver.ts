/**
 * A local OTLP/HTTP metrics receiver for tests: decodes http/protobuf and http/json
 * ExportMetricsServiceRequest bodies (gzip or not) into one flat list of data points.
 *
 * Protobuf decoding uses protobufjs with the subset of the OTLP metrics schema
 * (opentelemetry-proto v1, field numbers unchanged) that the JS exporters write.
 *
 * Every request is kept with its method and path, so a test can say where the data went. A
 * request that is not a decodable export (a body that does not decode, an unknown content type,
 * another method than POST) is answered 400 and kept as an error: `points()` and `waitFor()` then
 * throw, so that "no points" can never mean "points we could not read".
 */
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message Resource { repeated KeyValue attributes = 1; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric {
  string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; }
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message NumberDataPoint {
  repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  optional double min = 11; optional double max = 12;
}
`;

const Request = protobuf.parse(PROTO, { keepCase: false }).root.lookupType('otlp.ExportMetricsServiceRequest');

export type Attrs = Record<string, string | number | boolean | null>;

export interface Point {
  metric: string;
  unit: string;
  type: 'sum' | 'gauge' | 'histogram' | 'exponential_histogram';
  temporality?: number;
  attributes: Attrs;
  resource: Attrs;
  scope: string;
  /** Sum/gauge value, or histogram count. */
  value: number;
  sum?: number;
  bucketCounts?: number[];
  bounds?: number[];
}

export interface ReceivedRequest {
  method: string;
  /** The request target as sent: path and query, e.g. `/v1/metrics`. */
  path: string;
  contentType: string;
  headers: http.IncomingHttpHeaders;
  points: Point[];
  /** Why the request is not a decodable export, when it is not (its `points` are then empty). */
  error?: string;
}

function anyValue(v: any): string | number | boolean | null {
  if (v == null) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  return JSON.stringify(v);
}

function attrs(list: any[] | undefined): Attrs {
  const out: Attrs = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** Flattens a decoded (protobuf, as plain object) or JSON ExportMetricsServiceRequest. */
export function flatten(req: any): Point[] {
  const points: Point[] = [];
  for (const rm of req.resourceMetrics ?? []) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = sm.scope?.name ?? '';
      for (const m of sm.metrics ?? []) {
        const base = { metric: m.name as string, unit: (m.unit ?? '') as string, resource, scope };
        for (const type of ['sum', 'gauge', 'histogram', 'exponentialHistogram'] as const) {
          const data = m[type];
          if (!data) continue;
          for (const dp of data.dataPoints ?? []) {
            const isHist = type === 'histogram' || type === 'exponentialHistogram';
            points.push({
              ...base,
              type: type === 'exponentialHistogram' ? 'exponential_histogram' : type,
              temporality: data.aggregationTemporality,
              attributes: attrs(dp.attributes),
              value: isHist ? Number(dp.count ?? 0) : Number(dp.asDouble ?? dp.asInt ?? 0),
              ...(isHist
                ? {
                    sum: dp.sum == null ? undefined : Number(dp.sum),
                    bucketCounts: (dp.bucketCounts ?? []).map(Number),
                    bounds: (dp.explicitBounds ?? []).map(Number),
                  }
                : {}),
            });
          }
        }
      }
    }
  }
  return points;
}

export interface OtlpReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** The path of each request received so far, in order. */
  paths(): string[];
  /** Why each request that was not a decodable export was not, in order; empty when all were. */
  errors(): string[];
  /** Every data point received so far. Throws when any request could not be decoded (see `errors()`). */
  points(): Point[];
  /**
   * Resolves when `pred` holds for the points received (polls), or rejects after `timeoutMs`, or
   * as soon as a request could not be decoded.
   */
  waitFor(pred: (points: Point[]) => boolean, timeoutMs?: number): Promise<Point[]>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Answer every request with this status (e.g. 503) instead of 200. */
  status?: number;
  /** Delay before answering, ms. */
  delayMs?: number;
}

export async function startOtlpReceiver(options: ReceiverOptions = {}): Promise<OtlpReceiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type'] ?? '');
      const json = contentType.includes('json');
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        contentType,
        headers: req.headers,
        points: [],
      };
      try {
        if (req.method !== 'POST') throw new Error(`method ${req.method}, expected POST`);
        if (!json && !contentType.includes('protobuf')) throw new Error(`content-type ${JSON.stringify(contentType)} is neither JSON nor protobuf`);
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const decoded = json
          ? JSON.parse(body.toString('utf8'))
          : Request.toObject(Request.decode(body), { longs: Number, defaults: false, oneofs: false });
        received.points = flatten(decoded);
      } catch (error) {
        received.error = `${received.method} ${received.path} (${contentType}): ${error instanceof Error ? error.message : String(error)}`;
      }
      requests.push(received);
      const answer = (): void => {
        res.statusCode = received.error !== undefined ? 400 : (options.status ?? 200);
        if (json) {
          res.setHeader('content-type', 'application/json');
          res.end('{}');
        } else {
          res.setHeader('content-type', 'application/x-protobuf');
          res.end();
        }
      };
      if (options.delayMs) setTimeout(answer, options.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const errors = (): string[] => requests.flatMap((r) => (r.error !== undefined ? [r.error] : []));
  const points = (): Point[] => {
    const failed = errors();
    if (failed.length > 0) throw new Error(`OTLP receiver: ${failed.length} request(s) could not be decoded: ${failed.join('; ')}`);
    return requests.flatMap((r) => r.points);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    paths: () => requests.map((r) => r.path),
    errors,
    points,
    async waitFor(pred, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (pred(points())) return points();
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`OTLP receiver: condition not met within ${timeoutMs} ms; got ${JSON.stringify(points().map((p) => p.metric))}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
