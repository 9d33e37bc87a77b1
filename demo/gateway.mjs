#!/usr/bin/env node
// The demo gateway: a plain node:http server in front of several OpenAI-compatible backends. It
// forwards each request with the real `openai` client, trying the backends in order with
// withFallback (so the client-side series carry inference.backend and every move to the next
// backend counts in inference.fallbacks), and relays streams as server-sent events.
//
//   node --import otel-inference/register demo/gateway.mjs --port 8000 \
//     --backend primary=http://127.0.0.1:8001/v1 --backend secondary=http://127.0.0.1:8002/v1
//
// Nothing here records a metric by hand: the preload records the gateway's served requests
// (the zero-code server side: gen_ai.server.*, inference.server.*) and its upstream calls (the
// openai instrumentation: gen_ai.client.*, inference.requests, with inference.backend), and
// withFallback counts the fallbacks.
//
// Flags (each also as an environment variable, given in brackets):
//   --port <port>             listen port; 0 = any free port (default 8000)                    [GATEWAY_PORT]
//   --host <host>             listen address (default 127.0.0.1)                               [GATEWAY_HOST]
//   --backend <name>=<url>    a backend, in the order they are tried; repeat for each
//                             (the variable: a comma list, name=url,name=url)                  [GATEWAY_BACKENDS]
//   --timeout <s>             the openai client's timeout per attempt (default 60)             [GATEWAY_TIMEOUT]
//
// OPENAI_API_KEY is sent to the backends (default: a dummy key). Request headers named x-sim*
// are passed on to the backends (the simulated backends read their behaviour from them). It
// prints one line, `gateway listening on <url>`, then nothing unless something fails.
//
// Routes: POST /v1/chat/completions (streamed or not) and POST /v1/embeddings, forwarded; GET
// /healthz. When every backend fails, the caller gets the last backend's status and error body
// (502 when there was no HTTP answer at all, 504 for a timeout).

import http from 'node:http';
import OpenAI from 'openai';
import { withFallback } from 'otel-inference';
import { isMain, listen, runService } from './service.mjs';

function parseArgs(argv) {
  const out = {
    port: process.env.GATEWAY_PORT || '8000',
    host: process.env.GATEWAY_HOST || '127.0.0.1',
    timeout: process.env.GATEWAY_TIMEOUT || '60',
    backends: [],
  };
  const fromEnv = (process.env.GATEWAY_BACKENDS || '').split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') return { help: true };
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !['port', 'host', 'backend', 'timeout'].includes(m[1])) throw new Error(`unknown argument ${argv[i]} (see the top of demo/gateway.mjs)`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new Error(`missing value for --${m[1]}`);
    if (m[1] === 'backend') out.backends.push(value);
    else out[m[1]] = value;
  }
  const specs = out.backends.length > 0 ? out.backends : fromEnv;
  if (specs.length === 0) throw new Error('no backend: give --backend name=url (or GATEWAY_BACKENDS)');
  const backends = specs.map((spec) => {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const url = spec.slice(eq + 1);
    if (eq <= 0 || !/^https?:\/\//.test(url)) throw new Error(`--backend ${JSON.stringify(spec)}: expected name=http://host:port/v1`);
    return { name, url };
  });
  if (new Set(backends.map((b) => b.name)).size !== backends.length) throw new Error('--backend: each backend needs its own name');
  const port = Number(out.port);
  const timeout = Number(out.timeout);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected a port number, got ${JSON.stringify(out.port)}`);
  if (!(timeout > 0)) throw new Error(`--timeout: expected seconds > 0, got ${JSON.stringify(out.timeout)}`);
  return { port, host: out.host, timeoutMs: timeout * 1000, backends };
}

// ---------------------------------------------------------------------------------------------

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** What the caller gets when every backend failed: the last backend's answer, as it gave it. */
function sendError(res, error) {
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const body = error.error !== undefined && error.error !== null ? { error: error.error } : { error: { message: error.message, type: 'upstream_error' } };
    return sendJson(res, error.status, body);
  }
  const timeout = error instanceof OpenAI.APIConnectionTimeoutError;
  sendJson(res, timeout ? 504 : 502, { error: { message: timeout ? 'upstream timed out' : 'no backend answered', type: 'upstream_error', param: null, code: null } });
}

/** The x-sim* request headers, passed on as they are (the simulated backends read them). */
function simHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) if (name.startsWith('x-sim') && typeof value === 'string') out[name] = value;
  return out;
}

async function startGateway(opts) {
  const backends = opts.backends.map(({ name, url }) => ({
    name,
    url,
    // No retries of its own: a failure moves on to the next backend, and is counted as such.
    client: new OpenAI({ baseURL: url, apiKey: process.env.OPENAI_API_KEY || 'sk-demo-not-a-real-key', maxRetries: 0, timeout: opts.timeoutMs }),
  }));

  const ROUTES = {
    '/v1/chat/completions': (client, body, options) => client.chat.completions.create(body, options),
    '/v1/embeddings': (client, body, options) => client.embeddings.create(body, options),
  };

  async function handle(req, res, raw) {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { ok: true, backends: backends.map((b) => b.name) });
    const route = ROUTES[path];
    if (req.method !== 'POST' || route === undefined) {
      return sendJson(res, 404, { error: { message: `Unknown request URL: ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
    }
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      return sendJson(res, 400, { error: { message: 'expected a JSON object', type: 'invalid_request_error', param: null, code: null } });
    }
    // Where a body parser (Express's) puts it: the server side reads the requested model from it.
    req.body = body;

    // The caller leaving (a closed tab, an abandoned stream) aborts the upstream call too.
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const options = { signal: controller.signal, headers: simHeaders(req.headers) };
    let result;
    try {
      result = await withFallback(backends, (backend) => route(backend.client, body, options), { signal: controller.signal });
    } catch (error) {
      if (!controller.signal.aborted) sendError(res, error);
      return;
    }
    if (body.stream !== true) return sendJson(res, 200, result);

    // A stream: relay each chunk as it comes. The openai client parsed the backend's events;
    // the caller gets them as the same `data:` lines, then [DONE].
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    try {
      for await (const chunk of result) {
        if (res.destroyed) break;
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }
      if (!res.destroyed) res.end('data: [DONE]\n\n');
    } catch {
      // The backend failed mid-stream (or the caller left): the caller sees the stream cut.
      res.destroy();
    }
  }

  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('error', () => {});
    req.on('end', () => {
      handle(req, res, Buffer.concat(parts)).catch((err) => {
        process.stderr.write(`gateway: ${err?.stack ?? err}\n`);
        if (!res.headersSent) sendJson(res, 500, { error: { message: 'gateway error', type: 'server_error', param: null, code: null } });
        else res.destroy();
      });
    });
  });
  return listen(server, opts.host, opts.port);
}

if (isMain(import.meta.url)) {
  runService('gateway', {
    parseArgs,
    usage: 'usage: node --import otel-inference/register demo/gateway.mjs [--port 8000] --backend name=http://host:port/v1 [--backend ...]',
    start: startGateway,
    banner: (opts, gateway) => `gateway listening on ${gateway.url} (backends, in order: ${opts.backends.map((b) => `${b.name}=${b.url}`).join(', ')})`,
  });
}
