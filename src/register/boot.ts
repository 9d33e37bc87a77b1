/**
 * Starts everything once per process (a second copy of the entry, ESM next to CJS, finds
 * the first one's state through a global symbol and does nothing).
 */
import { isMainThread } from 'node:worker_threads';
import { diag, metrics } from '@opentelemetry/api';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import type { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { checkResourceAttributes, readConfig, readLogLevel, sdkDisabled, workerThreadsEnabled } from './config.js';
import { installDiagLogger, RegisterDiagLogger, secretsFromEnv } from './diag.js';
import { httpInstrumentations, OpenAIModuleInstrumentation, registerEsmLoaderHook } from './hooks.js';
import { startSdk } from './sdk.js';
import { bounded, installShutdownHooks } from './shutdown.js';

export interface RegisterState {
  /** Why nothing was started, when nothing was. */
  readonly skipped?: 'OTEL_SDK_DISABLED' | 'worker thread' | 'global MeterProvider already set';
  readonly meterProvider?: MeterProvider;
  readonly metricReader?: MetricReader;
  /** Resolves when the ESM loader hook has acknowledged the hooked modules. */
  readonly ready: Promise<void>;
  readonly shutdown: () => Promise<void>;
  readonly forceFlush: () => Promise<void>;
}

export const STATE_KEY = Symbol.for('otel-inference.register');

const noop = async (): Promise<void> => {};

export function getState(): RegisterState | undefined {
  return (globalThis as { [STATE_KEY]?: RegisterState })[STATE_KEY];
}

function setState(state: RegisterState): RegisterState {
  (globalThis as { [STATE_KEY]?: RegisterState })[STATE_KEY] = state;
  return state;
}

export function boot(): RegisterState {
  const existing = getState();
  if (existing) return existing;
  const skipped = (reason: NonNullable<RegisterState['skipped']>): RegisterState =>
    setState({ skipped: reason, ready: Promise.resolve(), shutdown: noop, forceFlush: noop });

  if (sdkDisabled()) return skipped('OTEL_SDK_DISABLED');
  if (!isMainThread && !workerThreadsEnabled()) return skipped('worker thread');

  const logger = new RegisterDiagLogger(secretsFromEnv());
  installDiagLogger(logger);
  const { level, warning } = readLogLevel();
  logger.level = level;
  if (warning) diag.warn(warning);

  const config = readConfig();
  checkResourceAttributes();

  // The loader hook first: no app module has been loaded yet.
  const waitForAck = registerEsmLoaderHook();

  const { meterProvider, inProcessReader } = startSdk(config, logger);
  if (!metrics.setGlobalMeterProvider(meterProvider)) {
    diag.warn('a global MeterProvider is already registered: otel-inference/register started nothing');
    void meterProvider.shutdown();
    return skipped('global MeterProvider already set');
  }

  const instrumentations: Instrumentation[] = [
    new OpenAIModuleInstrumentation({
      streamUsage: config.streamUsage,
      streamUsageHosts: config.streamUsageHosts,
      ...(config.providerName ? { providerName: config.providerName } : {}),
      ...(config.modelAllowlist ? { modelAllowlist: config.modelAllowlist } : {}),
    }),
  ];
  if (config.httpMetrics) instrumentations.push(...httpInstrumentations(ownTraffic(config)));
  registerInstrumentations({ instrumentations, meterProvider });

  const shutdown = installShutdownHooks(meterProvider, config.exportTimeoutMillis);
  return setState({
    meterProvider,
    ...(inProcessReader ? { metricReader: inProcessReader } : {}),
    ready: waitForAck ? waitForAck() : Promise.resolve(),
    shutdown,
    forceFlush: () => bounded(meterProvider.forceFlush(), config.exportTimeoutMillis, 'metrics flush'),
  });
}

/** Where our own exporters talk (or listen), so that HTTP metrics leave that traffic out. */
function ownTraffic(config: ReturnType<typeof readConfig>): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  if (config.exporters.includes('prometheus')) out.push({ host: config.prometheusHost, port: config.prometheusPort });
  if (config.exporters.includes('otlp') && config.otlpProtocol !== 'grpc') {
    const raw =
      process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim() ||
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() ||
      'http://localhost:4318';
    try {
      const u = new URL(raw);
      out.push({ host: u.hostname, port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80) });
    } catch {
      /* the exporter warns about a bad URL itself */
    }
  }
  return out;
}
