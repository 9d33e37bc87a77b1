// Per-request context: timing relative to the request start, cancellation on disconnect.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Behavior } from './behavior.js';
import { errorBody, messageOf, sendJson } from './http.js';
import type { JsonObject } from './json.js';
import type { OutputPlan } from './output.js';

/** Something to do `at` ms after the request started. */
export interface Step {
  at: number;
  fn: () => void;
}

export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly t0: number;
  closed = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.req = req;
    this.res = res;
    this.t0 = performance.now();
    res.on('close', () => {
      if (!res.writableFinished) this.cancel();
    });
    res.on('error', () => this.cancel());
    req.on('error', () => this.cancel());
  }

  cancel(): void {
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /**
   * Runs steps in order, each at `t0 + at` ms (relative to the request start, so delays do not
   * accumulate drift). Steps whose time has passed run right away.
   */
  run(steps: readonly Step[]): void {
    let i = 0;
    const next = (): void => {
      this.timer = null;
      while (!this.closed && i < steps.length) {
        const step = steps[i]!;
        const wait = this.t0 + step.at - performance.now();
        if (wait > 0.5) {
          this.timer = setTimeout(next, Math.max(1, Math.round(wait)));
          return;
        }
        i++;
        try {
          step.fn();
        } catch (err) {
          this.fail(err);
          return;
        }
      }
    };
    next();
  }

  fail(err: unknown): void {
    this.cancel();
    const res = this.res;
    if (!res.headersSent) {
      sendJson(res, 500, errorBody(500, `sim-server internal error: ${messageOf(err)}`));
    } else {
      res.destroy();
    }
  }

  /** Connection reset (RST) mid-response. */
  drop(): void {
    this.cancel();
    const socket = this.req.socket;
    if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket?.destroy();
  }
}

/** Sends one stream event; `after` runs once it has been handed to the kernel. */
export type Send<T> = (event: T, after?: () => void) => void;

/**
 * The timed steps of a stream's content: one chunk per item, no earlier than the headers. With
 * `drop`, the connection is reset right after the `drop`-th chunk (for 0: when the first was
 * due) and `finish` never runs; otherwise `finish` runs at `doneAt`.
 */
export function chunkSteps<T>(
  ctx: RequestContext,
  send: Send<T>,
  {
    headerAt,
    drop,
    items,
    doneAt,
    finish,
  }: {
    headerAt: number;
    drop: number | undefined;
    items: readonly { at: number; chunk: () => T }[];
    doneAt: number;
    finish: () => void;
  },
): Step[] {
  const steps: Step[] = [];
  if (drop !== undefined && drop <= 0) {
    steps.push({ at: Math.max(headerAt, items[0]?.at ?? doneAt), fn: () => ctx.drop() });
  }
  items.forEach(({ at, chunk }, i) => {
    if (drop !== undefined && i >= drop) return;
    const isDropPoint = drop !== undefined && i === drop - 1;
    steps.push({ at: Math.max(headerAt, at), fn: () => send(chunk(), isDropPoint ? () => ctx.drop() : undefined) });
  });
  if (drop === undefined || drop > items.length) steps.push({ at: doneAt, fn: finish });
  return steps;
}

/**
 * Serves one request of a route, once its behaviour and output are settled. `params` holds
 * what the route's pattern captured from the path (routes.ts).
 */
export type Handler = (
  ctx: RequestContext,
  body: JsonObject,
  p: Behavior,
  plan: OutputPlan,
  params: Readonly<Record<string, string>>,
) => void;
