// Responses on the wire: the headers every answer carries, JSON bodies, OpenAI-style errors and
// event streams.

import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export function genId(prefix: string): string {
  return prefix + randomBytes(12).toString('hex');
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `err.message`, or `err` itself when it has none. */
export function messageOf(err: unknown): unknown {
  return (err === null || err === undefined ? undefined : (err as { message?: unknown }).message) ?? err;
}

interface ErrorTemplate {
  type: string;
  code: string | null;
  message: string;
}

const ERROR_TEMPLATES: Record<number, ErrorTemplate> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request (simulated).' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided (simulated).' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory', message: 'Forbidden (simulated).' },
  404: { type: 'invalid_request_error', code: 'not_found', message: 'Not found (simulated).' },
  408: { type: 'server_error', code: 'timeout', message: 'Request timed out (simulated).' },
  409: { type: 'invalid_request_error', code: 'conflict', message: 'Conflict (simulated).' },
  422: { type: 'invalid_request_error', code: null, message: 'Unprocessable entity (simulated).' },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests (simulated). Please try again shortly.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that! (simulated)',
  },
  502: { type: 'server_error', code: null, message: 'Bad gateway (simulated).' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later. (simulated)' },
};

/** An OpenAI-style error body for the status. */
export function errorBody(status: number, message?: string) {
  const t = ERROR_TEMPLATES[status] ?? {
    type: status >= 500 ? 'server_error' : 'invalid_request_error',
    code: null,
    message: `Simulated error ${status}.`,
  };
  return { error: { message: message ?? t.message, type: t.type, param: null, code: t.code } };
}

function baseHeaders(extra: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return { 'x-request-id': genId('req_'), 'openai-processing-ms': '1', ...extra };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders?: OutgoingHttpHeaders): void {
  if (res.headersSent || res.destroyed) return;
  const data = JSON.stringify(body);
  res.writeHead(
    status,
    baseHeaders({
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(data),
      ...extraHeaders,
    }),
  );
  res.end(data);
}

export function startEventStream(res: ServerResponse): void {
  res.writeHead(
    200,
    baseHeaders({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    }),
  );
  res.flushHeaders();
}

/** Writes a chunk, then calls `after` once it has been handed to the kernel. */
export function writeRaw(res: ServerResponse, text: string, after?: () => void): void {
  if (res.destroyed || res.writableEnded) return;
  if (after) res.write(text, () => after());
  else res.write(text);
}
