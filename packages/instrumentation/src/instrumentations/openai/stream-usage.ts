/**
 * Usage on streamed calls. OpenAI-compatible servers report token usage on a stream only when
 * asked (`stream_options.include_usage`), so without it a stream has no token metrics and no
 * tokens/s. Where the policy allows, the request is sent with the option added to a copy of the
 * body; the extra usage chunk and the `usage: null` fields it causes are withheld from the
 * caller; and a server that refuses the option gets the request again exactly as the caller
 * made it, so the caller never sees the refusal.
 */
import { diag } from '@opentelemetry/api';
import { isObject, isThenable, type Obj } from '../../core/guards.js';

/**
 * `auto`: only for api.openai.com and the hosts listed; `always`; `never`. A call that sets
 * `stream_options.include_usage` itself is never changed.
 */
export type StreamUsage = 'auto' | 'always' | 'never';

export interface StreamUsagePolicy {
  readonly mode: StreamUsage;
  /** `host` or `host:port` entries known to accept the option. */
  readonly hosts: ReadonlySet<string>;
}

/** Where a client sends its requests, as the policy looks at it. */
export interface ServerKeys {
  /** `host` and `host:port`. */
  readonly hostKeys: readonly string[];
  /** `host:port`: a refusal is remembered per server, not per machine. */
  readonly server?: string | undefined;
}

const OPENAI_HOST = 'api.openai.com';

/** Servers (`host:port`) that refused an injected `stream_options`: never asked again. */
const refusingServers = new Set<string>();

function asks(keys: ServerKeys, policy: StreamUsagePolicy): boolean {
  if (policy.mode === 'never' || (keys.server !== undefined && refusingServers.has(keys.server))) return false;
  if (policy.mode === 'always') return true;
  return keys.hostKeys.some((key) => key === OPENAI_HOST || policy.hosts.has(key));
}

/**
 * The request body to send instead of `body`: a copy asking for usage, or undefined to send the
 * caller's own. The caller's params object is never modified.
 */
export function bodyAskingForUsage(body: Obj, keys: ServerKeys, policy: StreamUsagePolicy): Obj | undefined {
  const streamOptions = isObject(body.stream_options) ? body.stream_options : undefined;
  const unset = body.stream_options === undefined || (streamOptions !== undefined && streamOptions.include_usage === undefined);
  if (!unset || !asks(keys, policy)) return undefined;
  return { ...body, stream_options: { ...streamOptions, include_usage: true } };
}

/** Keeps the usage chunk we asked for away from the consumer, and the `usage: null` it adds. */
export function withholdInjectedUsage(chunk: unknown): boolean {
  if (!isObject(chunk)) return false;
  if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && isObject(chunk.usage)) return true;
  if (chunk.usage === null) delete chunk.usage;
  return false;
}

function isRefusal(error: unknown): boolean {
  return (
    isObject(error) &&
    (error.status === 400 || error.status === 422) &&
    /stream_options|include_usage/i.test(String(error.message))
  );
}

/**
 * Lets a refused `stream_options` be retried unseen. The openai APIPromise reads
 * `responsePromise` when it parses, so swapping it before the caller can touch the promise
 * answers the caller with the resent request. `onRefused` runs once the refusal is known.
 */
export function resendIfRefused(
  apiPromise: Obj,
  keys: ServerKeys & { readonly address?: string | undefined },
  resend: () => unknown,
  onRefused: () => void,
): void {
  apiPromise.responsePromise = (apiPromise.responsePromise as Promise<unknown>).then(undefined, (error: unknown) => {
    if (!isRefusal(error)) throw error;
    if (keys.server !== undefined) refusingServers.add(keys.server);
    diag.warn(
      `otel-inference: ${keys.address ?? 'the server'} rejected stream_options.include_usage; ` +
        'the request was sent again without it and this host is no longer asked for stream usage.',
    );
    onRefused();
    const resent = resend();
    return isObject(resent) && isThenable(resent.responsePromise) ? resent.responsePromise : resent;
  });
}
