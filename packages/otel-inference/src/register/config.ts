/**
 * Reads the register entry's configuration from the environment.
 *
 * Only what the OpenTelemetry packages do not read themselves is parsed here: the
 * OTLP exporters read OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression,
 * temporality preference) on their own, and the resource detectors read
 * OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES. Numbers and booleans go through
 * @opentelemetry/core's env getters, which already warn (through diag) about values
 * that are not a number or not true/false; this module adds one warning for values of
 * the right type but out of range, and for enumerations.
 */
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { getBooleanFromEnv, getNumberFromEnv, getStringFromEnv, getStringListFromEnv } from '@opentelemetry/core';
import { parseServerRoute, type ServerRoute } from '@otel-inference/instrumentation';

export type MetricsExporterName = 'otlp' | 'prometheus' | 'console';
export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type StreamUsage = 'auto' | 'always' | 'never';

export interface RegisterConfig {
  exporters: MetricsExporterName[];
  otlpProtocol: OtlpProtocol;
  exportIntervalMillis: number;
  exportTimeoutMillis: number;
  /**
   * Where OTLP goes: the metrics endpoint the exporter would use. `endpointOverride` is set
   * only when an endpoint variable is invalid: the exporter is then given this URL in code.
   */
  otlpEndpoint: string;
  otlpEndpointOverride: string | undefined;
  /** The endpoint variables that are set but invalid (already warned about). */
  otlpInvalidEndpointVariables: string[];
  prometheusHost: string;
  prometheusPort: number;
  providerName: string | undefined;
  streamUsage: StreamUsage;
  streamUsageHosts: string[];
  modelAllowlist: (string | RegExp)[] | undefined;
  /** The served routes tracked: undefined for the default ones, empty for none (the server side off). */
  serverRoutes: ServerRoute[] | undefined;
  inProcessReader: boolean;
  /** OTEL_INFERENCE_STATS_WINDOW: the recent window of /v1/stats, seconds. */
  statsWindowSeconds: number;
  /** OTEL_INFERENCE_HOST_METRICS; undefined: the default (on once the process serves an inference route). */
  hostMetrics: boolean | undefined;
  /** OTEL_INFERENCE_GPU_METRICS; undefined: the default (on where nvidia-smi answers, silently off elsewhere). */
  gpuMetrics: boolean | undefined;
}

export const DEFAULTS = {
  exporters: ['otlp'] as MetricsExporterName[],
  otlpProtocol: 'http/protobuf' as OtlpProtocol,
  exportIntervalMillis: 60_000,
  exportTimeoutMillis: 30_000,
  prometheusHost: 'localhost',
  prometheusPort: 9464,
  streamUsage: 'auto' as StreamUsage,
  statsWindowSeconds: 60,
} as const;

const LOG_LEVELS: Record<string, DiagLogLevel> = {
  NONE: DiagLogLevel.NONE,
  ERROR: DiagLogLevel.ERROR,
  WARN: DiagLogLevel.WARN,
  INFO: DiagLogLevel.INFO,
  DEBUG: DiagLogLevel.DEBUG,
  VERBOSE: DiagLogLevel.VERBOSE,
  ALL: DiagLogLevel.ALL,
};

function warnBad(name: string, value: string, expected: string, fallback: string): void {
  diag.warn(`${name}=${JSON.stringify(value)} is invalid (expected ${expected}); using ${fallback}`);
}

/** OTEL_LOG_LEVEL: returns the level and an optional warning to emit once a logger exists. */
export function readLogLevel(env: NodeJS.ProcessEnv = process.env): { level: DiagLogLevel; warning?: string } {
  const raw = env.OTEL_LOG_LEVEL?.trim();
  if (!raw) return { level: DiagLogLevel.INFO };
  const level = LOG_LEVELS[raw.toUpperCase()];
  if (level === undefined) {
    return {
      level: DiagLogLevel.INFO,
      warning: `OTEL_LOG_LEVEL=${JSON.stringify(raw)} is invalid (expected one of ${Object.keys(LOG_LEVELS)
        .map((l) => l.toLowerCase())
        .join(', ')}); using the default: info`,
    };
  }
  return { level };
}

/** OTEL_SDK_DISABLED as the spec reads it: only a case-insensitive "true" disables. */
export function sdkDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
}

/** A boolean switch of our own, default `fallback`; "true"/"false" (any case) or one warning. */
function readBoolean(name: string, fallback: boolean): boolean {
  const raw = getStringFromEnv(name)?.trim().toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  warnBad(name, raw, "'true' or 'false'", `the default: ${fallback}`);
  return fallback;
}

/** A switch whose default is decided elsewhere: true, false, or undefined (unset, or bad: one warning). */
function readSwitch(name: string, defaultDescription: string): boolean | undefined {
  const raw = getStringFromEnv(name)?.trim().toLowerCase();
  if (raw === undefined || raw === 'true' || raw === 'false') return raw === undefined ? undefined : raw === 'true';
  warnBad(name, raw, "'true' or 'false'", `the default: ${defaultDescription}`);
  return undefined;
}

function readPositiveMillis(name: string, fallback: number): number {
  const value = getNumberFromEnv(name); // warns itself when not a number
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    warnBad(name, String(process.env[name]), 'a positive number of milliseconds', `the default: ${fallback}`);
    return fallback;
  }
  return value;
}

function readPositiveSeconds(name: string, fallback: number): number {
  const value = getNumberFromEnv(name); // warns itself when not a number
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    warnBad(name, String(process.env[name]), 'a positive number of seconds', `the default: ${fallback}`);
    return fallback;
  }
  return value;
}

function readExporters(): MetricsExporterName[] {
  const list = getStringListFromEnv('OTEL_METRICS_EXPORTER')?.map((s) => s.toLowerCase());
  if (list === undefined || list.length === 0) return [...DEFAULTS.exporters];
  const known = new Set(['otlp', 'prometheus', 'console', 'none']);
  const unknown = list.filter((e) => !known.has(e));
  const valid = [...new Set(list.filter((e) => known.has(e)))];
  if (unknown.length > 0) {
    diag.warn(
      `OTEL_METRICS_EXPORTER: unknown exporter(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')} ignored ` +
        `(expected a comma list of otlp, prometheus, console, none)` +
        (valid.length === 0 ? '; using the default: otlp' : ''),
    );
  }
  if (valid.length === 0) return [...DEFAULTS.exporters];
  if (valid.includes('none')) {
    if (valid.length > 1) diag.warn('OTEL_METRICS_EXPORTER lists "none" with other exporters; no exporter is started');
    return [];
  }
  return valid as MetricsExporterName[];
}

function readProtocol(): OtlpProtocol {
  const name = getStringFromEnv('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL')
    ? 'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const raw = getStringFromEnv(name)?.trim();
  if (raw === undefined) return DEFAULTS.otlpProtocol;
  if (raw === 'http/protobuf' || raw === 'http/json' || raw === 'grpc') return raw;
  warnBad(name, raw, "'http/protobuf', 'http/json' or 'grpc'", `the default: ${DEFAULTS.otlpProtocol}`);
  return DEFAULTS.otlpProtocol;
}

/** 0 binds an ephemeral port, like any server; the port chosen is logged and in getRegisterStatus(). */
function readPrometheusPort(): number {
  const raw = getStringFromEnv('OTEL_EXPORTER_PROMETHEUS_PORT')?.trim();
  if (raw === undefined) return DEFAULTS.prometheusPort;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(port) || port > 65535) {
    warnBad('OTEL_EXPORTER_PROMETHEUS_PORT', raw, 'a port number 0-65535 (0: any free port)', `the default: ${DEFAULTS.prometheusPort}`);
    return DEFAULTS.prometheusPort;
  }
  return port;
}

/** The specification's default endpoints: http/protobuf and http/json, and gRPC. */
const DEFAULT_OTLP_ENDPOINT = { http: 'http://localhost:4318', grpc: 'http://localhost:4317' } as const;

/** An endpoint variable: its value when it is an http(s) URL, or the raw value when it is not. */
function endpointVariable(name: string): { url?: string; invalid?: string } {
  const raw = getStringFromEnv(name)?.trim();
  if (raw === undefined) return {};
  try {
    const { protocol } = new URL(raw);
    if (protocol === 'http:' || protocol === 'https:') return { url: raw };
  } catch {
    /* not a URL */
  }
  return { invalid: raw };
}

/**
 * The metrics endpoint, as the OTLP exporters resolve it (the metrics-specific variable as is,
 * else the base one plus /v1/metrics for HTTP, else the default), and whether the exporter must
 * be given it in code because a variable it would read is invalid: one warning each, naming the
 * variable, and the spec's order of precedence for the rest.
 */
function readOtlpEndpoint(protocol: OtlpProtocol): { endpoint: string; override: string | undefined; invalid: string[] } {
  const variables = {
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: endpointVariable('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'),
    OTEL_EXPORTER_OTLP_ENDPOINT: endpointVariable('OTEL_EXPORTER_OTLP_ENDPOINT'),
  };
  const specific = variables.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
  const base = variables.OTEL_EXPORTER_OTLP_ENDPOINT;
  const grpc = protocol === 'grpc';
  const fallback = grpc ? DEFAULT_OTLP_ENDPOINT.grpc : DEFAULT_OTLP_ENDPOINT.http;
  const endpoint = specific.url ?? (grpc ? (base.url ?? fallback) : `${(base.url ?? fallback).replace(/\/+$/, '')}/v1/metrics`);
  for (const [name, variable] of Object.entries(variables)) {
    if (variable.invalid !== undefined) {
      diag.warn(`${name}=${JSON.stringify(variable.invalid)} is invalid (expected an http:// or https:// URL); metrics go to ${endpoint}`);
    }
  }
  const invalid = Object.entries(variables).flatMap(([name, variable]) => (variable.invalid !== undefined ? [name] : []));
  return { endpoint, override: specific.url === undefined && invalid.length > 0 ? endpoint : undefined, invalid };
}

function readStreamUsage(): StreamUsage {
  const raw = getStringFromEnv('OTEL_INFERENCE_STREAM_USAGE')?.trim().toLowerCase();
  if (raw === undefined) return DEFAULTS.streamUsage;
  if (raw === 'auto' || raw === 'always' || raw === 'never') return raw;
  warnBad('OTEL_INFERENCE_STREAM_USAGE', raw, "'auto', 'always' or 'never'", `the default: ${DEFAULTS.streamUsage}`);
  return DEFAULTS.streamUsage;
}

/** Comma list; an entry written `/pattern/flags` is a regular expression. */
function readModelAllowlist(): (string | RegExp)[] | undefined {
  const list = getStringListFromEnv('OTEL_INFERENCE_MODEL_ALLOWLIST');
  if (list === undefined || list.length === 0) return undefined;
  const out: (string | RegExp)[] = [];
  const bad: string[] = [];
  for (const entry of list) {
    const m = /^\/(.+)\/([a-z]*)$/.exec(entry);
    if (!m) {
      out.push(entry);
      continue;
    }
    try {
      out.push(new RegExp(m[1]!, m[2]));
    } catch {
      bad.push(entry);
    }
  }
  if (bad.length > 0) {
    diag.warn(
      `OTEL_INFERENCE_MODEL_ALLOWLIST: invalid regular expression(s) ${bad.map((b) => JSON.stringify(b)).join(', ')} ignored`,
    );
  }
  return out;
}

/**
 * OTEL_INFERENCE_SERVER_ROUTES: a comma list of `/path` or `/path=operation` that replaces the
 * default routes. Set and empty, or `none`: no route, the server side is off. Invalid entries
 * are left out with one warning; when none is left, the default routes are used.
 */
function readServerRoutes(env: NodeJS.ProcessEnv = process.env): ServerRoute[] | undefined {
  const name = 'OTEL_INFERENCE_SERVER_ROUTES';
  const raw = env[name];
  if (raw === undefined) return undefined;
  const list = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (list.length === 0) return [];
  if (list.some((entry) => entry.toLowerCase() === 'none')) {
    if (list.length > 1) diag.warn(`${name} lists "none" with other routes; no route is tracked`);
    return [];
  }
  const routes: ServerRoute[] = [];
  const invalid: string[] = [];
  for (const entry of list) {
    const route = parseServerRoute(entry);
    if (route === undefined) invalid.push(entry);
    else routes.push(route);
  }
  if (invalid.length > 0) {
    diag.warn(
      `${name}: invalid route(s) ${invalid.map((entry) => JSON.stringify(entry)).join(', ')} ignored ` +
        `(expected a comma list of /path or /path=operation, or none)` +
        (routes.length === 0 ? '; using the default routes' : ''),
    );
  }
  return routes.length > 0 ? routes : undefined;
}

/** Reads everything; every bad value logs one warning (through diag) and falls back to its default. */
export function readConfig(): RegisterConfig {
  // Only to warn about a bad value: the decision was taken by sdkDisabled() already.
  getBooleanFromEnv('OTEL_SDK_DISABLED');
  let exportIntervalMillis = readPositiveMillis('OTEL_METRIC_EXPORT_INTERVAL', DEFAULTS.exportIntervalMillis);
  let exportTimeoutMillis = readPositiveMillis('OTEL_METRIC_EXPORT_TIMEOUT', DEFAULTS.exportTimeoutMillis);
  if (exportTimeoutMillis > exportIntervalMillis) {
    // Like the SDK's PeriodicExportingMetricReader (which throws when both are given).
    const explicit = getStringFromEnv('OTEL_METRIC_EXPORT_TIMEOUT') !== undefined && exportTimeoutMillis !== DEFAULTS.exportTimeoutMillis;
    (explicit ? diag.warn : diag.debug)(
      `OTEL_METRIC_EXPORT_TIMEOUT (${exportTimeoutMillis}) exceeds OTEL_METRIC_EXPORT_INTERVAL (${exportIntervalMillis}); using the interval as the timeout`,
    );
    exportTimeoutMillis = exportIntervalMillis;
  }
  const providerName = getStringFromEnv('OTEL_INFERENCE_PROVIDER_NAME')?.trim();
  const exporters = readExporters();
  const otlpProtocol = readProtocol();
  const otlp = exporters.includes('otlp') ? readOtlpEndpoint(otlpProtocol) : { endpoint: '', override: undefined, invalid: [] };
  return {
    exporters,
    otlpProtocol,
    exportIntervalMillis,
    exportTimeoutMillis,
    otlpEndpoint: otlp.endpoint,
    otlpEndpointOverride: otlp.override,
    otlpInvalidEndpointVariables: otlp.invalid,
    prometheusHost: getStringFromEnv('OTEL_EXPORTER_PROMETHEUS_HOST')?.trim() || DEFAULTS.prometheusHost,
    prometheusPort: readPrometheusPort(),
    providerName: providerName || undefined,
    streamUsage: readStreamUsage(),
    streamUsageHosts: getStringListFromEnv('OTEL_INFERENCE_STREAM_USAGE_HOSTS') ?? [],
    modelAllowlist: readModelAllowlist(),
    serverRoutes: readServerRoutes(),
    inProcessReader: readBoolean('OTEL_INFERENCE_IN_PROCESS_READER', false),
    statsWindowSeconds: readPositiveSeconds('OTEL_INFERENCE_STATS_WINDOW', DEFAULTS.statsWindowSeconds),
    hostMetrics: readSwitch('OTEL_INFERENCE_HOST_METRICS', 'on once the process serves an inference route'),
    gpuMetrics: readSwitch('OTEL_INFERENCE_GPU_METRICS', 'on where nvidia-smi answers'),
  };
}

/** OTEL_INFERENCE_WORKER_THREADS, read before the diag logger exists (in a worker, nothing else is read). */
export function workerThreadsEnabled(): boolean {
  return process.env.OTEL_INFERENCE_WORKER_THREADS?.trim().toLowerCase() === 'true';
}

/** Validates OTEL_RESOURCE_ATTRIBUTES like the env detector does (which only logs at debug level). */
export function checkResourceAttributes(): void {
  const raw = getStringFromEnv('OTEL_RESOURCE_ATTRIBUTES');
  if (raw === undefined) return;
  for (const entry of raw.split(',').filter((e) => e.trim() !== '')) {
    const kv = entry.split('=');
    let ok = kv.length === 2 && kv[0]!.trim() !== '';
    if (ok) {
      try {
        decodeURIComponent(kv[0]!);
        decodeURIComponent(kv[1]!);
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      diag.warn(
        'OTEL_RESOURCE_ATTRIBUTES is malformed (expected key=value pairs separated by commas, with "," and "=" percent-encoded); ' +
          'the whole value is ignored, as the specification requires',
      );
      return;
    }
  }
}

/** Variables that were read once and are not any more: one warning naming what replaces each. */
const RETIRED: Readonly<Record<string, string>> = {
  OTEL_INFERENCE_HTTP_METRICS: 'OTEL_NODE_DISABLED_INSTRUMENTATIONS=http,undici turns HTTP metrics off',
};

export function checkRetiredVariables(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, instead] of Object.entries(RETIRED)) {
    if (env[name] !== undefined) diag.warn(`${name} is no longer read; ${instead}`);
  }
}
