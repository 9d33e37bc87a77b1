/**
 * What keeps telemetry from holding the app: the OTLP exporters as the OpenTelemetry packages
 * build them, with these changes.
 *
 * - **One attempt per export.** The exporters' own retry loop (up to 5 attempts on timers that
 *   keep the process alive) is taken out: the next periodic export is the retry, and with
 *   cumulative temporality it carries everything the failed one held.
 * - **One export in flight.** An export that finds the previous one still sending waits for it
 *   (a newer one replaces it), instead of sending a second request alongside.
 * - **Retry-After is honoured across exports**: a collector that answers 429 or 503 with
 *   `Retry-After` gets no request before that time.
 * - **Nothing of a periodic export keeps the process alive.** The reader is answered as soon as
 *   the request is on its way (its own timeout timer would otherwise hold the process), the
 *   request goes out on a socket that is unref'd, and its outcome reaches the failure-streak log
 *   when it is known. `forceFlush()` and the shutdown still wait for it: the shutdown holds the
 *   process for the final flush, bounded by the export timeout.
 *
 * So a collector sees at most one request per export interval from a process, and an app whose
 * collector is down, hanging or throttling exits as it would without the preload, plus at most
 * the final flush.
 */
import { diag } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** The transport shape of @opentelemetry/otlp-exporter-base 0.30x (`send` → an ExportResponse). */
interface Transport {
  send(data: Uint8Array, timeoutMillis: number): Promise<{ status: string; retryInMillis?: number; data?: Uint8Array }>;
  shutdown(): void;
}

interface Serializer {
  deserializeResponse(data: Uint8Array): unknown;
}

interface Delegate {
  _transport?: Transport & { _transport?: Transport };
  _serializer?: Serializer;
}

function isTransport(value: unknown): value is Transport {
  return typeof value === 'object' && value !== null && typeof (value as Transport).send === 'function';
}

/** What one export learnt beyond its result code. */
interface Attempt {
  /** The collector asked to wait this long before the next request. */
  retryAfterMillis?: number;
  /** The collector answered 2xx with a body that is not an OTLP response. */
  undecodable?: boolean;
}

/**
 * Takes the retry loop out of an OTLP exporter and lets the guard see what each attempt
 * learnt. Reaches into the exporter's delegate (`_delegate._transport`, `_serializer`); if a
 * release changes that shape, the exporter is left as it is and a debug line says so.
 */
function instrumentTransport(exporter: PushMetricExporter, attempt: () => Attempt): void {
  const delegate = (exporter as { _delegate?: Delegate })._delegate;
  const outer = delegate?._transport;
  if (delegate === undefined || !isTransport(outer)) {
    diag.debug('the OTLP exporter has an unknown shape: its own retries and timers are left as they are');
    return;
  }
  const inner = isTransport(outer._transport) ? outer._transport : outer;
  delegate._transport = {
    send: (data, timeoutMillis) =>
      inner.send(data, timeoutMillis).then((response) => {
        if (response.status === 'retryable' && typeof response.retryInMillis === 'number') {
          attempt().retryAfterMillis = response.retryInMillis;
        }
        return response;
      }),
    shutdown: () => inner.shutdown(),
  };
  const serializer = delegate._serializer;
  if (serializer !== undefined && typeof serializer.deserializeResponse === 'function') {
    const deserialize = serializer.deserializeResponse.bind(serializer);
    // An undecodable body is reported by the guard as a failure, in one line: the exporter's
    // own report of it (a warning with a stack and a hex dump, then "success") never happens.
    serializer.deserializeResponse = (data) => {
      try {
        return deserialize(data);
      } catch {
        attempt().undecodable = true;
        return undefined;
      }
    };
  }
}

export interface GuardEvents {
  /** An export succeeded: a failure streak, if any, ends. */
  succeeded(): void;
  /** An export failed; `message` says why (no stack, no body). */
  failed(message: string): void;
}

/**
 * The exporter the periodic reader talks to: the OTLP exporter with one attempt per export, one
 * export at a time, Retry-After honoured, an undecodable 2xx counted as a failure, and the
 * outcome reported to `events` instead of to the reader.
 */
export class GuardedExporter implements PushMetricExporter {
  selectAggregationTemporality?: PushMetricExporter['selectAggregationTemporality'];
  selectAggregation?: PushMetricExporter['selectAggregation'];
  private inFlight = false;
  /** The newest export that found one in flight: sent when that one ends. */
  private queued: ResourceMetrics | undefined;
  private notBefore = 0;
  private attempt: Attempt = {};
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly events: GuardEvents,
    private readonly now: () => number = Date.now,
  ) {
    if (inner.selectAggregationTemporality) this.selectAggregationTemporality = inner.selectAggregationTemporality.bind(inner);
    if (inner.selectAggregation) this.selectAggregation = inner.selectAggregation.bind(inner);
    instrumentTransport(inner, () => this.attempt);
  }

  /**
   * Answers the reader at once: the request is on its way (the reader need not wait, and hold
   * the process, for it). An export that finds one in flight waits for it, replacing any older
   * waiting one: with cumulative temporality the newest carries everything, and the final flush
   * at shutdown is never dropped. Within a Retry-After, the export is skipped.
   */
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    if (this.inFlight) {
      if (this.queued !== undefined) diag.debug('metrics export skipped: a newer export replaces it while one is in flight');
      this.queued = metrics;
    } else {
      this.send(metrics);
    }
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  private send(metrics: ResourceMetrics): void {
    const wait = this.notBefore - this.now();
    if (wait > 0) {
      // Not an attempt: the 429 that asked for the wait is what the failure streak reports.
      diag.debug(`metrics export skipped: the collector asked to wait (Retry-After), ${Math.ceil(wait)} ms left`);
      this.settle();
      return;
    }
    this.inFlight = true;
    const attempt: Attempt = {};
    this.attempt = attempt;
    const done = (result: ExportResult): void => {
      if (attempt.retryAfterMillis !== undefined) this.notBefore = this.now() + attempt.retryAfterMillis;
      if (result.code === ExportResultCode.SUCCESS && !attempt.undecodable) this.events.succeeded();
      else this.events.failed(failureMessage(result, attempt));
      this.inFlight = false;
      const next = this.queued;
      this.queued = undefined;
      if (next !== undefined) this.send(next);
      else this.settle();
    };
    try {
      this.inner.export(metrics, done);
    } catch (error) {
      done({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }

  /** Nothing in flight and nothing waiting: release forceFlush(). */
  private settle(): void {
    if (this.inFlight || this.queued !== undefined) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves when the export in flight and the one waiting behind it (if any) have ended. */
  async forceFlush(): Promise<void> {
    if (this.inFlight || this.queued !== undefined) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

function failureMessage(result: ExportResult, attempt: Attempt): string {
  if (attempt.undecodable) return 'metrics export failed: the response is not an OTLP response (is the endpoint an OTLP receiver?)';
  const error = result.error;
  const why = error === undefined ? 'unknown error' : error.message || error.name;
  return `metrics export failed: ${why}`;
}

/**
 * The HTTP agent factory for the OTLP exporters (their `httpAgentOptions`): every socket is
 * unref'd, so that a request to a slow or absent collector never keeps the process alive. No
 * keep-alive: Node refs a socket again when it reuses it, and one connection per export interval
 * costs nothing. Loaded lazily, as the exporters ask, so that instrumentation-http has patched
 * node:http by then.
 */
export async function unrefAgent(protocol: string): Promise<import('node:http').Agent> {
  const { Agent } = (await (protocol === 'http:' ? import('node:http') : import('node:https'))) as typeof import('node:http');
  const agent = new Agent({ keepAlive: false });
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = ((...args: Parameters<typeof createConnection>) => {
    const socket = createConnection(...args);
    (socket as import('node:net').Socket | undefined)?.unref?.();
    return socket;
  }) as typeof agent.createConnection;
  return agent;
}
