/**
 * The patches of node:http and node:https servers: `emit` of both Server prototypes (the
 * `request` event, as @opentelemetry/instrumentation-http hooks it), and `write`, `end` and
 * `destroy` of `http.ServerResponse.prototype`, which https servers and every framework on
 * node:http (Express, Fastify, Hono's node adapter) write through. Prototypes, not instances:
 * servers created before the patch are covered, and a request on a route that is not tracked
 * costs one comparison per event and one property read per write.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isRecord, type Obj } from '../../core/guards.js';
import { reportInternalError } from '../../core/internal-errors.js';
import { wrapMethod, type AnyFunction } from '../../core/wrap.js';
import { dispatchLinked } from './claim.js';
import type { ResponseTracker } from './track.js';

/**
 * Where a tracked response keeps its tracker. Symbol.for: every copy of this library (ESM and
 * CJS) sees a response that another copy tracks, and leaves it alone.
 */
export const TRACKER = Symbol.for('otel-inference.server.tracker');

type Tracked = { [TRACKER]?: ResponseTracker };

export interface ServerHooks {
  /** The tracker of a new request, or undefined when its route is not tracked. */
  begin(req: IncomingMessage, res: ServerResponse): ResponseTracker | undefined;
}

function onResponseClose(this: ServerResponse): void {
  const tracker = (this as Tracked)[TRACKER];
  if (tracker !== undefined && !tracker.done) tracker.closed();
}

function trackerOf(res: unknown): ResponseTracker | undefined {
  if (!isRecord(res)) return undefined;
  const tracker = (res as Tracked)[TRACKER];
  return tracker !== undefined && !tracker.done ? tracker : undefined;
}

function emitWrapper(hooks: () => ServerHooks | undefined) {
  return (original: AnyFunction): AnyFunction =>
    function emit(this: unknown, event: unknown, req?: unknown, res?: unknown): unknown {
      if (event !== 'request') return original.apply(this, arguments as unknown as unknown[]);
      const current = hooks();
      let tracker: ResponseTracker | undefined;
      if (current !== undefined && isRecord(req) && isRecord(res) && (res as Tracked)[TRACKER] === undefined) {
        try {
          tracker = current.begin(req as unknown as IncomingMessage, res as unknown as ServerResponse);
          if (tracker !== undefined) {
            (res as Tracked)[TRACKER] = tracker;
            (res as unknown as ServerResponse).on('close', onResponseClose);
          }
        } catch (error) {
          reportInternalError('server request start', error);
        }
      }
      if (tracker === undefined) return original.apply(this, arguments as unknown as unknown[]);
      const args = arguments;
      try {
        return dispatchLinked(tracker, req as object, () => original.apply(this, args as unknown as unknown[]));
      } catch (error) {
        tracker.threw(error);
        throw error;
      }
    };
}

function writeWrapper(original: AnyFunction): AnyFunction {
  return function write(this: unknown, chunk?: unknown, encoding?: unknown): unknown {
    const tracker = trackerOf(this);
    if (tracker !== undefined) tracker.observe(chunk, encoding);
    return original.apply(this, arguments as unknown as unknown[]);
  };
}

function endWrapper(original: AnyFunction): AnyFunction {
  return function end(this: unknown, chunk?: unknown, encoding?: unknown): unknown {
    const tracker = trackerOf(this);
    if (tracker === undefined) return original.apply(this, arguments as unknown as unknown[]);
    if (typeof chunk !== 'function') tracker.observe(chunk, encoding);
    const result = original.apply(this, arguments as unknown as unknown[]);
    tracker.ended();
    return result;
  };
}

function destroyWrapper(original: AnyFunction): AnyFunction {
  return function destroy(this: unknown, error?: unknown): unknown {
    const tracker = trackerOf(this);
    if (tracker !== undefined) tracker.destroyed(error);
    return original.apply(this, arguments as unknown as unknown[]);
  };
}

interface Patched {
  target: Obj;
  key: string;
  /** Whether the property was the target's own before (else it was inherited). */
  own: boolean;
  undo: () => void;
}

function patch(target: Obj, key: string, makeWrapper: (original: AnyFunction) => AnyFunction): Patched {
  const own = Object.prototype.hasOwnProperty.call(target, key);
  return { target, key, own, undo: wrapMethod(target, key, makeWrapper) };
}

/**
 * Patches the prototypes of node:http and node:https; `hooks()` is asked at each `request`
 * event (undefined: the instrumentation is off, the request passes untouched). Returns the undo:
 * each prototype gets back what it had (an inherited method is inherited again), unless someone
 * wrapped it after us, in which case our wrapper stays in their chain and passes everything by.
 */
export function patchServers(hooks: () => ServerHooks | undefined): () => void {
  const http = process.getBuiltinModule('node:http');
  const https = process.getBuiltinModule('node:https');
  const response = http.ServerResponse.prototype as unknown as Obj;
  const patches = [
    patch(http.Server.prototype as unknown as Obj, 'emit', emitWrapper(hooks)),
    patch(https.Server.prototype as unknown as Obj, 'emit', emitWrapper(hooks)),
    patch(response, 'write', writeWrapper),
    patch(response, 'end', endWrapper),
    patch(response, 'destroy', destroyWrapper),
  ];
  return () => {
    for (const { target, key, own, undo } of patches) {
      const before = target[key];
      undo();
      // Restored (ours was in place): an inherited method becomes inherited again.
      if (!own && target[key] !== before) delete target[key];
    }
  };
}
