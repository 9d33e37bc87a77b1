/**
 * Module hooks: the ESM loader hook (import-in-the-middle, only for `openai`), the openai
 * instrumentation (CJS through require-in-the-middle and ESM through import-in-the-middle,
 * both via @opentelemetry/instrumentation's InstrumentationBase), HTTP metrics, and the
 * double-counting check against @opentelemetry/instrumentation-openai.
 */
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { diag } from '@opentelemetry/api';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  type Instrumentation,
} from '@opentelemetry/instrumentation';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { createInferenceMetrics, instrumentOpenAI } from '../index.js';
import type { RegisterConfig } from './config.js';
import { VERSION } from '../version.js';

declare const __filename: string | undefined;
const selfUrl = typeof __filename === 'string' ? pathToFileURL(__filename).href : import.meta.url;
const localRequire = createRequire(selfUrl);

/** The only module the ESM loader hook intercepts: wrapping every module breaks openai's shims. */
export const HOOKED_MODULES = ['openai'];

/**
 * Registers import-in-the-middle's loader for `openai` only. The returned promise resolves
 * when the loader thread has acknowledged every module hooked so far (call it after the
 * instrumentations are enabled).
 */
export function registerEsmLoaderHook(): (() => Promise<void>) | undefined {
  if (typeof nodeModule.register !== 'function') {
    diag.warn('module.register() is not available in this Node.js version: ESM imports of openai are not instrumented');
    return undefined;
  }
  try {
    const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
    const data = (registerOptions.data ?? {}) as { include?: unknown[] };
    data.include = [...HOOKED_MODULES];
    nodeModule.register('import-in-the-middle/hook.mjs', selfUrl, { ...registerOptions, data });
    return waitForAllMessagesAcknowledged;
  } catch (error) {
    diag.warn(`could not register the ESM loader hook: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

const OTEL_OPENAI_INSTRUMENTATION = '@opentelemetry/instrumentation-openai';
let doubleCountWarned = false;

/** True when @opentelemetry/instrumentation-openai is loaded or has wrapped the openai client. */
export function otherOpenAIInstrumentationActive(moduleExports?: unknown): boolean {
  try {
    const cache = localRequire.cache ?? {};
    for (const key of Object.keys(cache)) {
      if (key.includes(`/node_modules/${OTEL_OPENAI_INSTRUMENTATION}/`) || key.includes(`\\node_modules\\@opentelemetry\\instrumentation-openai\\`)) {
        return true;
      }
    }
    // shimmer (used by OTel instrumentations) marks what it wraps with __wrapped.
    const ns = moduleExports as { OpenAI?: unknown; default?: unknown } | undefined;
    const OpenAI = (ns?.OpenAI ?? ns?.default ?? ns) as
      | { Chat?: { Completions?: { prototype?: { create?: { __wrapped?: boolean } } } } }
      | undefined;
    if (OpenAI?.Chat?.Completions?.prototype?.create?.__wrapped === true) return true;
  } catch {
    /* best effort */
  }
  return false;
}

function checkDoubleCounting(moduleExports: unknown): void {
  if (doubleCountWarned || !otherOpenAIInstrumentationActive(moduleExports)) return;
  doubleCountWarned = true;
  diag.warn(
    `${OTEL_OPENAI_INSTRUMENTATION} is also active, so the gen_ai.client.* metrics of openai calls are recorded twice. ` +
      'Disable one of them: with @opentelemetry/auto-instrumentations-node set ' +
      'OTEL_NODE_DISABLED_INSTRUMENTATIONS=openai (or getNodeAutoInstrumentations({ "@opentelemetry/instrumentation-openai": { enabled: false } }))',
  );
}

interface OpenAIHookOptions {
  providerName?: string;
  streamUsage: RegisterConfig['streamUsage'];
  streamUsageHosts: readonly string[];
  modelAllowlist?: readonly (string | RegExp)[];
}

/** Calls instrumentOpenAI on every copy of `openai` (CJS and ESM) as it is loaded. */
export class OpenAIModuleInstrumentation extends InstrumentationBase {
  private readonly uninstalls: (() => void)[] = [];
  private hookOptions: OpenAIHookOptions | undefined;

  constructor(options: OpenAIHookOptions) {
    super('otel-inference/openai', VERSION, { enabled: false });
    this.hookOptions = options;
  }

  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'openai',
        ['>=4.0.0 <8'],
        (moduleExports: unknown) => {
          this.patch(moduleExports);
          return moduleExports;
        },
        (moduleExports: unknown) => {
          for (const u of this.uninstalls.splice(0)) u();
          return moduleExports;
        },
      ),
    ];
  }

  private patch(moduleExports: unknown): void {
    const o = this.hookOptions;
    if (!o) return;
    try {
      const metrics = createInferenceMetrics(o.modelAllowlist ? { modelAllowlist: o.modelAllowlist } : {});
      this.uninstalls.push(
        instrumentOpenAI(moduleExports, {
          metrics,
          streamUsage: o.streamUsage,
          streamUsageHosts: o.streamUsageHosts,
          ...(o.providerName ? { providerName: o.providerName } : {}),
        }),
      );
    } catch (error) {
      diag.error(`could not instrument openai: ${error instanceof Error ? error.message : String(error)}`);
    }
    checkDoubleCounting(moduleExports);
    // auto-instrumentations may be set up after openai is loaded: look once more, later.
    setTimeout(() => checkDoubleCounting(moduleExports), 2000).unref();
  }
}

/** HTTP server/client metrics: node:http(s) and fetch/undici. Our own exporter traffic is not counted. */
export function httpInstrumentations(isOwnTraffic: { host: string; port: number }[]): Instrumentation[] {
  const out: Instrumentation[] = [];
  const matches = (host: string | null | undefined, port: number | string | null | undefined): boolean =>
    isOwnTraffic.some(
      (t) => String(t.port) === String(port ?? '') && (!host || t.host === host || (isLoopback(host) && isLoopback(t.host))),
    );
  try {
    const { HttpInstrumentation } = localRequire('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
    out.push(
      new HttpInstrumentation({
        ignoreOutgoingRequestHook: (req) => matches(req.hostname ?? req.host, req.port ?? defaultPort(req.protocol)),
        ignoreIncomingRequestHook: (req) => isOwnTraffic.some((t) => t.port === req.socket?.localPort),
      }),
    );
  } catch (error) {
    diag.warn(`HTTP metrics unavailable: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const { UndiciInstrumentation } = localRequire('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
    out.push(
      new UndiciInstrumentation({
        ignoreRequestHook: (req) => {
          try {
            const u = new URL(req.origin);
            return matches(u.hostname, u.port || defaultPort(u.protocol));
          } catch {
            return false;
          }
        },
      }),
    );
  } catch (error) {
    diag.warn(`fetch (undici) metrics unavailable: ${error instanceof Error ? error.message : String(error)}`);
  }
  return out;
}

function defaultPort(protocol: string | null | undefined): number {
  return protocol === 'https:' ? 443 : 80;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}
