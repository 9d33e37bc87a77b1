import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag, type MeterProvider } from '@opentelemetry/api';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { patchServers, type ServerHooks } from './patch.js';
import { compileRoutes, DEFAULT_SERVER_ROUTES, isValidRoute, matchRoute, type RouteTable, type ServerRoute } from './routes.js';
import { ServerRequestRecorder } from '../../server/request.js';
import { ResponseTracker } from './track.js';

export interface InferenceServerInstrumentationConfig extends InferenceInstrumentationConfig {
  /**
   * The routes tracked: `POST` requests to these paths (the query string aside), each a path
   * (its operation inferred from its ending, see {@link operationOfPath}) or a
   * `{ path, operation }`. Replaces the default; an empty list tracks nothing.
   * Default {@link DEFAULT_SERVER_ROUTES}: `/v1/chat/completions`, `/v1/completions`,
   * `/v1/embeddings`, `/v1/responses`. Register reads `OTEL_INFERENCE_SERVER_ROUTES`.
   */
  routes?: readonly (string | ServerRoute)[];
}

/**
 * Server-side metrics of the OpenAI-compatible routes of every node:http and node:https server
 * in the process, and so of every framework on them (Express, Fastify, Hono's node adapter):
 * request duration, time to first token and time per output token of streams, requests by
 * outcome, active requests. It patches the servers' `request` event and the responses' writes
 * (prototypes: servers created before it is enabled are covered); what a response writes is
 * read within bounds and passed on unchanged. `disable()` puts the prototypes back.
 */
export class InferenceServerInstrumentation extends InferenceInstrumentation<InferenceServerInstrumentationConfig> {
  // `declare`: InstrumentationBase's constructor calls enable() and setConfig() before a
  // subclass's fields would be initialised, and an initialiser would then wipe what they set.
  declare private unpatch: (() => void) | undefined;
  declare private table: RouteTable | undefined;
  declare private serverMeterProvider: MeterProvider | undefined;
  declare private hooks: ServerHooks | undefined;

  constructor(config: InferenceServerInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/server', config);
  }

  protected override init() {
    // node:http and node:https are patched on their prototypes when enabled, whoever loads them.
    return [];
  }

  override enable(): void {
    super.enable();
    if (this.unpatch !== undefined) return;
    this.hooks = { begin: (req, res) => this.begin(req, res) };
    try {
      this.unpatch = patchServers(() => (this.isEnabled() ? this.hooks : undefined));
    } catch (error) {
      diag.error(`otel-inference: could not patch node:http servers: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  override disable(): void {
    super.disable();
    const unpatch = this.unpatch;
    this.unpatch = undefined;
    unpatch?.();
  }

  override setConfig(config: InferenceServerInstrumentationConfig = {}): void {
    super.setConfig(config);
    this.table = undefined;
  }

  override setMeterProvider(meterProvider: MeterProvider): void {
    super.setMeterProvider(meterProvider);
    this.serverMeterProvider = meterProvider;
  }

  private get routes(): RouteTable {
    if (this.table === undefined) {
      const routes = this.getConfig().routes ?? DEFAULT_SERVER_ROUTES;
      const invalid = routes.filter((r) => !isValidRoute(typeof r === 'string' ? { path: r } : r));
      if (invalid.length > 0) {
        diag.warn(`otel-inference: server routes ignored (expected an absolute path and an operation name): ${JSON.stringify(invalid)}`);
      }
      this.table = compileRoutes(routes);
    }
    return this.table;
  }

  private begin(req: IncomingMessage, res: ServerResponse): ResponseTracker | undefined {
    const startTime = performance.now();
    if (req.method !== 'POST') return undefined;
    const operation = matchRoute(this.routes, req.url);
    if (operation === undefined) return undefined;
    const { modelAllowlist } = this.getConfig();
    const port = req.socket?.localPort;
    // Not startServerRequest(): that is the app's own record, which this one steps aside for.
    const request = new ServerRequestRecorder({
      operation,
      startTime,
      ...(port !== undefined ? { serverPort: port } : {}),
      ...(this.serverMeterProvider !== undefined ? { meterProvider: this.serverMeterProvider } : {}),
      ...(modelAllowlist !== undefined ? { modelAllowlist } : {}),
    });
    return new ResponseTracker(request, req, res);
  }
}
