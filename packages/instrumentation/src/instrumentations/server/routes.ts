import { OPERATION } from '../../semconv.js';

/** A route the server instrumentation tracks: `POST` to `path`, recorded as `operation`. */
export interface ServerRoute {
  /** The request path, without query string, e.g. `/v1/chat/completions`. Matched exactly. */
  readonly path: string;
  /**
   * `gen_ai.operation.name`. Default: inferred from the path's ending (see
   * {@link operationOfPath}).
   */
  readonly operation?: string;
}

/** The OpenAI-compatible routes tracked by default. */
export const DEFAULT_SERVER_ROUTES: readonly ServerRoute[] = [
  { path: '/v1/chat/completions', operation: OPERATION.chat },
  { path: '/v1/completions', operation: OPERATION.textCompletion },
  { path: '/v1/embeddings', operation: OPERATION.embeddings },
  // The Responses API generates a conversation turn: `chat`, as the client side records it.
  { path: '/v1/responses', operation: OPERATION.chat },
];

/** The operation of a path's last segment, as OpenAI, Ollama and Anthropic name their routes. */
const OPERATION_BY_SEGMENT: Readonly<Record<string, string>> = {
  completions: OPERATION.textCompletion,
  completion: OPERATION.textCompletion,
  generate: OPERATION.textCompletion,
  embeddings: OPERATION.embeddings,
  embedding: OPERATION.embeddings,
  embed: OPERATION.embeddings,
};

/**
 * The operation of a path by its last segment (any prefix: `/openai/v1/chat/completions` is
 * chat): `chat/completions` → `chat`; `completions`, `completion`, `generate` →
 * `text_completion`; `embeddings`, `embedding`, `embed` → `embeddings`; anything else (`chat`,
 * `responses`, `messages`, ...) → `chat`.
 */
export function operationOfPath(path: string): string {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (p.endsWith('/chat/completions')) return OPERATION.chat;
  return OPERATION_BY_SEGMENT[p.slice(p.lastIndexOf('/') + 1).toLowerCase()] ?? OPERATION.chat;
}

/** A path we can match: absolute, no query, fragment, space or control character. */
const PATH = /^\/[^?#\s\u0000-\u001f]*$/;
/** An operation name as semconv writes them (`chat`, `text_completion`, a vendor's own). */
const OPERATION_NAME = /^[a-z][a-z0-9_.]{0,63}$/;

/** Whether `route` is usable: a well-formed path, and an operation name when one is given. */
export function isValidRoute(route: ServerRoute): boolean {
  return (
    typeof route.path === 'string' &&
    PATH.test(route.path) &&
    (route.operation === undefined || (typeof route.operation === 'string' && OPERATION_NAME.test(route.operation)))
  );
}

/**
 * Parses one entry of a route list: `/path` or `/path=operation`. Returns undefined for an
 * entry that is not one of those.
 */
export function parseServerRoute(entry: string): ServerRoute | undefined {
  const trimmed = entry.trim();
  const eq = trimmed.indexOf('=');
  const route: ServerRoute =
    eq === -1 ? { path: trimmed } : { path: trimmed.slice(0, eq).trim(), operation: trimmed.slice(eq + 1).trim() };
  return isValidRoute(route) ? route : undefined;
}

/** The compiled table: path → operation, looked up once per request. */
export type RouteTable = ReadonlyMap<string, string>;

/** Compiles routes (the last entry for a path wins); invalid ones are left out. */
export function compileRoutes(routes: readonly (string | ServerRoute)[]): RouteTable {
  const table = new Map<string, string>();
  for (const entry of routes) {
    const route = typeof entry === 'string' ? { path: entry } : entry;
    if (!isValidRoute(route)) continue;
    table.set(route.path, route.operation ?? operationOfPath(route.path));
  }
  return table;
}

/**
 * The operation of a request to `url` (`req.url`: a path with an optional query string), or
 * undefined when the path is not a route of `table`.
 */
export function matchRoute(table: RouteTable, url: string | undefined): string | undefined {
  if (url === undefined || table.size === 0) return undefined;
  const q = url.indexOf('?');
  return table.get(q === -1 ? url : url.slice(0, q));
}
