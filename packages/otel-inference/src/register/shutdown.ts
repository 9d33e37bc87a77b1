/**
 * Flushes on the way out, with a bounded wait:
 * - normal end (the event loop drains): `beforeExit` shuts the MeterProvider down, which
 *   exports what is left; the loop drains again and the process exits with its own code;
 * - SIGTERM / SIGINT with no listener of the app's own: flush, then re-raise the signal with
 *   the default action, so the process ends exactly as it would have (143 / 130);
 * - SIGTERM / SIGINT when the app listens too: flush in the background and leave the exit to
 *   the app's handler.
 * `process.exit()` and crashes cannot wait for asynchronous work: call `shutdown()` from
 * 'otel-inference/register' first if the last interval matters there.
 */
import { diag } from '@opentelemetry/api';

export interface Flushable {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Resolves when `p` settles or after `ms`, whichever is first; never rejects. */
export function bounded(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      diag.warn(`${what} did not finish within ${ms} ms; not waiting longer`);
      resolve();
    }, ms);
    timer.unref?.();
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        diag.warn(`${what} failed: ${error instanceof Error ? error.message : String(error)}`);
        resolve();
      },
    );
  });
}

/**
 * `endOpen` ends the requests still in flight (as cancelled, `error.type` shutdown) right
 * before the final flush, so that the last export holds them and an active gauge of 0.
 */
export function installShutdownHooks(target: Flushable, timeoutMillis: number, endOpen: () => void): () => Promise<void> {
  let shutdownPromise: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    if (shutdownPromise === undefined) {
      try {
        endOpen();
      } catch (error) {
        diag.warn(`could not end the requests in flight: ${error instanceof Error ? error.message : String(error)}`);
      }
      // The exporters' sockets do not keep the process alive: this timer does, for as long as
      // the final flush may take, and no longer.
      const keepAlive = setTimeout(() => {}, timeoutMillis + 1000);
      shutdownPromise = bounded(target.shutdown(), timeoutMillis, 'metrics export at shutdown').finally(() => clearTimeout(keepAlive));
    }
    return shutdownPromise;
  };

  process.on('beforeExit', () => {
    // Runs again after the shutdown's own work drains the loop: only the first time counts.
    if (!shutdownPromise) void shutdown();
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    const appListeners = process.listeners(signal).filter((l) => l !== handlers[signal]);
    if (appListeners.length > 0) {
      // The app decides when to exit, and may still finish its requests: export what we have
      // meanwhile; the requests still open then end at beforeExit or shutdown().
      void bounded(target.forceFlush(), timeoutMillis, 'metrics export (flush)');
      return;
    }
    const reraise = (): void => {
      process.removeListener(signal, handlers[signal]!);
      process.kill(process.pid, signal);
    };
    if (shutdownPromise) {
      // A second signal while flushing: do not make the user wait twice.
      reraise();
      return;
    }
    void shutdown().then(reraise);
  };
  const handlers: Partial<Record<NodeJS.Signals, (signal: NodeJS.Signals) => void>> = { SIGTERM: onSignal, SIGINT: onSignal };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return shutdown;
}
