// The HTTP server: routes, the request log, per-request behaviour, start and close.
//
// Endpoints: the routes of routes.ts (OpenAI's: POST /v1/chat/completions, /v1/completions,
// /v1/responses, /v1/embeddings; the `/v1` prefix is optional) and GET /v1/models. Anything
// else is a 404.

import http, { type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { BASE_DEFAULTS, parseSimHeader, pickSimFields, type Behavior, type SimBehavior } from './behavior.js';
import { RequestContext, type Handler } from './context.js';
import { errorBody, messageOf, sendJson } from './http.js';
import { isPlainObject } from './json.js';
import { planOutput } from './output.js';
import { isSimProfile, profileModelNames, sampleProfile, type SimProfile } from './profile.js';
import { makeRandom } from './random.js';
import { findRoute } from './routes.js';

export interface SimServerOptions extends SimBehavior {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /**
   * Models with realistic, jittered latency and occasional 429/500 instead of the fixed default
   * behaviour (the demo's is DEMO_PROFILE in demo/profile.mjs). Default: none.
   */
  profile?: SimProfile;
  /** Seed of the profile's random generator, for reproducible runs. */
  seed?: number;
  /** Keep every request in `requests` (default true; the CLI turns it off so memory stays flat). */
  recordRequests?: boolean;
}

export interface SimRequestRecord {
  method: string;
  /** URL path, e.g. '/v1/chat/completions'. */
  path: string;
  /** Request headers, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (null when empty, the raw text when not JSON). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever the client sent; tests read into it
  body: any;
}

export interface SimServer {
  /** Base URL for the openai client, e.g. 'http://127.0.0.1:PORT/v1'. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Every request received, in order (empty with `recordRequests: false`). */
  readonly requests: SimRequestRecord[];
  /** The underlying node:http server. */
  readonly server: Server;
  /** Stops listening and destroys open sockets (in-flight streams are cut). */
  close(): Promise<void>;
}

function normalizePath(pathname: string): string {
  const p = pathname.replace(/\/+$/, '') || '/';
  return p.startsWith('/v1/') ? p.slice(3) : p;
}

/** Starts the simulated server. Resolves once it is listening. */
export async function startSimServer(options: SimServerOptions = {}): Promise<SimServer> {
  const { port = 0, host = '127.0.0.1', profile, seed, recordRequests = true } = options;
  if (profile !== undefined && !isSimProfile(profile)) {
    throw new Error(`sim-server: profile must be a SimProfile object ({ models, embeddingModels }), not ${JSON.stringify(profile)}`);
  }
  const random = makeRandom(seed ?? (Date.now() ^ (process.pid << 16)));
  const defaults: Behavior = { ...BASE_DEFAULTS, ...pickSimFields(options) };
  const requests: SimRequestRecord[] = [];
  const keyCounts = new Map<string, number>();
  const sockets = new Set<Socket>();

  function handle(req: IncomingMessage, res: ServerResponse, rawBody: Buffer): void {
    const ctx = new RequestContext(req, res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    let body: unknown = null;
    let bodyError: Error | null = null;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        bodyError = err as Error;
        body = rawBody.toString('utf8');
      }
    }
    // Tests read this log; a long-running server (the CLI, the demo) turns it off.
    if (recordRequests) requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: { ...req.headers }, body });

    const path = normalizePath(url.pathname);
    if (req.method === 'GET' && path === '/models') {
      const names = profile ? profileModelNames(profile) : ['sim-model'];
      return sendJson(res, 200, {
        object: 'list',
        data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'sim-server' })),
      });
    }
    const found = findRoute(path);
    if (!found || req.method !== 'POST') {
      return sendJson(res, 404, {
        error: { message: `Unknown request URL: ${req.method} ${url.pathname}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
      });
    }
    const { route, params } = found;
    const errorBodyOf = route.errorBody ?? errorBody;
    const errorHeadersOf = (status: number): OutgoingHttpHeaders => ({ ...route.errorHeaders?.(status, defaults) });
    if (bodyError || !isPlainObject(body)) {
      const message = `We could not parse the JSON body of your request. (${bodyError?.message ?? 'expected an object'})`;
      return sendJson(res, 400, errorBodyOf(400, message), errorHeadersOf(400));
    }

    const parsed = parseSimHeader(req.headers['x-sim']);
    if ('error' in parsed) return sendJson(res, 400, errorBodyOf(400, parsed.error), errorHeadersOf(400));
    const xsim = parsed.behavior;
    const p: Behavior = { ...defaults, ...(profile ? sampleProfile(profile, route.kind, body, random) : {}), ...xsim };
    // An explicit chunkMs/chunks/reasoningChunks/tokensPerChunk in x-sim replaces the profile's jittered schedule.
    if ('chunkMs' in xsim || 'chunks' in xsim || 'reasoningChunks' in xsim || 'tokensPerChunk' in xsim) delete p.chunkDelays;

    if (p.rejectStreamOptions && body.stream_options !== undefined) {
      return sendJson(res, 400, {
        error: {
          message: 'Unrecognized request argument supplied: stream_options',
          type: 'invalid_request_error',
          param: 'stream_options',
          code: null,
        },
      });
    }

    const keyHeader = req.headers['x-sim-key'];
    const key = typeof keyHeader === 'string' ? keyHeader : '';
    const seen = keyCounts.get(key) ?? 0;
    keyCounts.set(key, seen + 1);
    const status = Number(p.status);
    if (Number.isInteger(status) && status >= 400 && (p.failTimes === undefined || seen < p.failTimes)) {
      const headers: OutgoingHttpHeaders = { ...route.errorHeaders?.(status, p) };
      if (p.retryAfterMs !== undefined) headers['retry-after-ms'] = String(p.retryAfterMs);
      else if (status === 429) headers['retry-after-ms'] = '0';
      return sendJson(res, status, errorBodyOf(status), headers);
    }

    const plan = planOutput(p, profile !== undefined, random);
    route.handler(ctx, body, p, plan, params);
  }

  const server = http.createServer((req, res) => {
    req.socket.setNoDelay(true);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(parts));
      } catch (err) {
        if (!res.headersSent) sendJson(res, 500, errorBody(500, `sim-server internal error: ${messageOf(err)}`));
        else res.destroy();
      }
    });
    req.on('error', () => {});
  });
  server.on('connection', (socket: Socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  server.on('clientError', (_err, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', () => {});

  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${urlHost}:${actualPort}/v1`,
    port: actualPort,
    host,
    requests,
    server,
    close() {
      if (!closing) {
        closing = new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections?.();
          for (const s of sockets) s.destroy();
          sockets.clear();
        });
      }
      return closing;
    },
  };
}
