/**
 * Starts everything once per process (a second copy of the entry, ESM next to CJS, finds
 * the first one's state through a global symbol and does nothing).
 */
import { isMainThread } from 'node:worker_threads';
import { diag, metrics } from '@opentelemetry/api';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { cancelOpenRequests, enabledByEnv, type StatsSource } from '@otel-inference/instrumentation';
import { checkRetiredVariables, checkResourceAttributes, readConfig, readLogLevel, sdkDisabled, workerThreadsEnabled, type RegisterConfig } from './config.js';
import { installDiagLogger, RegisterDiagLogger, secretsFromEnv } from './diag.js';
import { registerEsmLoaderHook, type EsmHookKind } from './esm-hook.js';
import { REGISTER_INSTRUMENTATIONS, type Endpoint } from './instrumentations.js';
import { startSdk } from './sdk.js';
import { bounded, installShutdownHooks } from './shutdown.js';
import { STATE_KEY } from './state-key.js';
import { startSystemMetrics } from './system.js';

export interface RegisterState {
  /** Why nothing was started, when nothing was. */
  readonly skipped?: 'OTEL_SDK_DISABLED' | 'worker thread';
  /**
   * The MeterProvider register started (also the global one). Undefined when the app already
   * had one: register then records into the app's and starts no exporter.
   */
  readonly meterProvider?: MeterProvider;
  readonly metricReader?: MetricReader;
  /** The embedded Prometheus endpoint, with OTEL_METRICS_EXPORTER=prometheus. */
  readonly prometheus?: { readonly boundPort: number | undefined };
  /**
   * The /v1/stats source (docs/stats.md): over the Prometheus exporter, else the in-process
   * reader; absent with neither. statsHandler() reads it through the global key.
   */
  readonly stats?: StatsSource;
  /** The names of the instrumentations enabled. */
  readonly instrumentations: readonly string[];
  /** How ESM imports are hooked: in-thread (`sync`), on a loader thread (`async`), or not. */
  readonly esmHook: EsmHookKind;
  /** Resolves when the ESM loader hook has acknowledged the hooked modules. */
  readonly ready: Promise<void>;
  readonly shutdown: () => Promise<void>;
  readonly forceFlush: () => Promise<void>;
}

export { STATE_KEY };

const noop = async (): Promise<void> => {};

export function getState(): RegisterState | undefined {
  return (globalThis as { [STATE_KEY]?: RegisterState })[STATE_KEY];
}

function setState(state: RegisterState): RegisterState {
  (globalThis as { [STATE_KEY]?: RegisterState })[STATE_KEY] = state;
  return state;
}

/**
 * True when a MeterProvider is registered already (by the app's own SDK, or another preload
 * that ran first). The metrics API keeps its globals under this key, shared by every copy of
 * @opentelemetry/api 1.x in the process.
 */
function hasGlobalMeterProvider(): boolean {
  const globals = (globalThis as Record<symbol, { metrics?: unknown } | undefined>)[Symbol.for('opentelemetry.js.api.1')];
  return globals?.metrics !== undefined;
}

export function boot(): RegisterState {
  const existing = getState();
  if (existing) return existing;
  const skipped = (reason: NonNullable<RegisterState['skipped']>): RegisterState =>
    setState({ skipped: reason, instrumentations: [], esmHook: 'none', ready: Promise.resolve(), shutdown: noop, forceFlush: noop });

  if (sdkDisabled()) return skipped('OTEL_SDK_DISABLED');
  if (!isMainThread && !workerThreadsEnabled()) return skipped('worker thread');

  const logger = new RegisterDiagLogger(secretsFromEnv());
  installDiagLogger(logger);
  const { level, warning } = readLogLevel();
  logger.level = level;
  if (warning) diag.warn(warning);

  const config = readConfig();
  checkResourceAttributes();
  checkRetiredVariables();

  const appProvider = hasGlobalMeterProvider();
  const own = ownTraffic(config);
  const entries = REGISTER_INSTRUMENTATIONS.filter((e) => enabledByEnv(e.name) && (!appProvider || e.withAppMeterProvider));

  // The loader hook first: no app module has been loaded yet.
  const esmHook = registerEsmLoaderHook(entries.flatMap((e) => e.modules));
  const enable = (meterProvider?: MeterProvider): string[] => {
    const instrumentations: Instrumentation[] = [];
    const names: string[] = [];
    for (const entry of entries) {
      const instrumentation = entry.create(config, own);
      if (instrumentation === undefined) continue;
      instrumentations.push(instrumentation);
      names.push(entry.name);
    }
    registerInstrumentations({ instrumentations, ...(meterProvider ? { meterProvider } : {}) });
    return names;
  };

  if (appProvider) {
    diag.info(
      'a MeterProvider is already registered (by the app or an earlier preload): recording into it, ' +
        'with no reader of our own; the app\'s SDK sends and flushes the metrics',
    );
    const instrumentations = enable();
    return setState({ instrumentations, esmHook: esmHook.kind, ready: esmHook.ready(), shutdown: noop, forceFlush: noop });
  }

  const { meterProvider, inProcessReader, prometheus, stats } = startSdk(config, logger, (port) => {
    // Port 0: the HTTP metrics leave out the scrapes of the port actually chosen.
    for (const endpoint of own) if (endpoint.port === 0) endpoint.port = port;
  });
  metrics.setGlobalMeterProvider(meterProvider);
  const instrumentations = enable(meterProvider);
  // Only for a provider of our own (an app's SDK decides what it collects), only when something
  // reads them (no nvidia-smi every interval for OTEL_METRICS_EXPORTER=none), and only on the main
  // thread: they are the process's and the host's, which a worker would report a second time.
  const system =
    isMainThread && (config.exporters.length > 0 || config.inProcessReader) ? startSystemMetrics(config, meterProvider) : undefined;
  const shutdown = installShutdownHooks(meterProvider, config.exportTimeoutMillis, () => {
    system?.stop();
    cancelOpenRequests();
  });
  return setState({
    meterProvider,
    ...(inProcessReader ? { metricReader: inProcessReader } : {}),
    ...(prometheus ? { prometheus } : {}),
    ...(stats ? { stats } : {}),
    instrumentations,
    esmHook: esmHook.kind,
    ready: esmHook.ready(),
    shutdown,
    forceFlush: () => bounded(meterProvider.forceFlush(), config.exportTimeoutMillis, 'metrics export (flush)'),
  });
}

/** Where our own exporters talk (or listen), so that HTTP metrics leave that traffic out. */
function ownTraffic(config: RegisterConfig): Endpoint[] {
  const out: Endpoint[] = [];
  if (config.exporters.includes('prometheus')) out.push({ host: config.prometheusHost, port: config.prometheusPort });
  if (config.exporters.includes('otlp') && config.otlpProtocol !== 'grpc') {
    try {
      const u = new URL(config.otlpEndpoint);
      out.push({ host: u.hostname, port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80) });
    } catch {
      /* config.ts made sure it parses */
    }
  }
  return out;
}
