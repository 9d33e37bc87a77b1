/**
 * Everything register can enable, by name: the inference instrumentations of
 * @otel-inference/instrumentation, and HTTP metrics (node:http and fetch) from the OpenTelemetry
 * instrumentations. Boot enables what OTEL_NODE_ENABLED_INSTRUMENTATIONS /
 * OTEL_NODE_DISABLED_INSTRUMENTATIONS leave on; the ESM loader hook intercepts the modules of
 * those; docs/configuration.md lists the names (a test keeps it in step).
 */
import { createRequire } from 'node:module';
import { diag } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  INFERENCE_INSTRUMENTATIONS,
  type InferenceInstrumentationName,
  type InferenceInstrumentationsConfig,
  type InstrumentationEntry,
} from '@otel-inference/instrumentation';
import type { RegisterConfig } from './config.js';

declare const __filename: string | undefined;
const localRequire = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);

export interface RegisterEntry {
  readonly name: string;
  /** Modules the ESM loader hook intercepts for it. */
  readonly modules: readonly string[];
  readonly description: string;
  /**
   * Whether register enables it when the app already has a MeterProvider. HTTP metrics are then
   * the app's own SDK's business: enabling them twice would count every request twice.
   */
  readonly withAppMeterProvider: boolean;
  readonly create: (config: RegisterConfig, ownTraffic: readonly Endpoint[]) => Instrumentation | undefined;
}

/** Where our own exporters talk (or listen): HTTP metrics leave that traffic out. */
export interface Endpoint {
  readonly host: string;
  /** 0 until an ephemeral port is bound: the hooks read it at each request. */
  port: number;
}

/** Each inference instrumentation's options, from the OTEL_INFERENCE_* variables. */
function inferenceOptions(config: RegisterConfig): Required<InferenceInstrumentationsConfig> {
  const shared = config.modelAllowlist !== undefined ? { modelAllowlist: config.modelAllowlist } : {};
  return {
    'inference-openai': {
      ...shared,
      streamUsage: config.streamUsage,
      streamUsageHosts: config.streamUsageHosts,
      ...(config.providerName !== undefined ? { providerName: config.providerName } : {}),
    },
    'inference-anthropic': { ...shared },
    'inference-ai-sdk': { ...shared },
    'inference-google-genai': { ...shared },
    'inference-bedrock': { ...shared },
    'inference-langchain': { ...shared },
    'inference-ollama': { ...shared },
    'inference-server': {
      ...shared,
      ...(config.serverRoutes !== undefined ? { routes: config.serverRoutes } : {}),
    },
  };
}

/** Whether an instrumentation has anything to do: OTEL_INFERENCE_SERVER_ROUTES=none leaves the server side off. */
function hasWork(name: InferenceInstrumentationName, config: RegisterConfig): boolean {
  return name !== 'inference-server' || config.serverRoutes === undefined || config.serverRoutes.length > 0;
}

function inference(entry: InstrumentationEntry): RegisterEntry {
  return {
    name: entry.name,
    modules: entry.modules,
    description: entry.description,
    withAppMeterProvider: true,
    create: (config) => {
      const name = entry.name as InferenceInstrumentationName;
      return hasWork(name, config) ? entry.create(inferenceOptions(config)[name]) : undefined;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

function defaultPort(protocol: string | null | undefined): number {
  return protocol === 'https:' ? 443 : 80;
}

function isOwn(ownTraffic: readonly Endpoint[], host: string | null | undefined, port: number | string | null | undefined): boolean {
  return ownTraffic.some(
    (t) => String(t.port) === String(port ?? '') && (!host || t.host === host || (isLoopback(host) && isLoopback(t.host))),
  );
}

/** Loaded only when enabled: a missing optional piece costs a warning, never the app. */
function load<T>(pkg: string, what: string, make: (module: T) => Instrumentation): Instrumentation | undefined {
  try {
    return make(localRequire(pkg) as T);
  } catch (error) {
    diag.warn(`${what} unavailable: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

export const REGISTER_INSTRUMENTATIONS: readonly RegisterEntry[] = [
  ...INFERENCE_INSTRUMENTATIONS.map(inference),
  {
    name: 'http',
    modules: ['http', 'https'],
    description: 'HTTP server and client metrics of node:http and node:https (@opentelemetry/instrumentation-http)',
    withAppMeterProvider: false,
    create: (_config, ownTraffic) =>
      load<typeof import('@opentelemetry/instrumentation-http')>('@opentelemetry/instrumentation-http', 'HTTP metrics', (m) =>
        new m.HttpInstrumentation({
          ignoreOutgoingRequestHook: (req) => isOwn(ownTraffic, req.hostname ?? req.host, req.port ?? defaultPort(req.protocol)),
          ignoreIncomingRequestHook: (req) => ownTraffic.some((t) => t.port === req.socket?.localPort),
        }),
      ),
  },
  {
    name: 'undici',
    modules: [],
    description: 'HTTP client metrics of fetch and undici (@opentelemetry/instrumentation-undici)',
    withAppMeterProvider: false,
    create: (_config, ownTraffic) =>
      load<typeof import('@opentelemetry/instrumentation-undici')>('@opentelemetry/instrumentation-undici', 'fetch (undici) metrics', (m) =>
        new m.UndiciInstrumentation({
          ignoreRequestHook: (req) => {
            try {
              const u = new URL(req.origin);
              return isOwn(ownTraffic, u.hostname, u.port || defaultPort(u.protocol));
            } catch {
              return false;
            }
          },
        }),
      ),
  },
];
