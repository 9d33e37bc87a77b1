/**
 * The ESM loader hook (import-in-the-middle), intercepting only the modules the enabled
 * instrumentations patch: wrapping every module breaks openai's shims, and costs start-up time.
 *
 * Where the running Node.js can run it, the hook is synchronous and in-thread
 * (`module.registerHooks`, import-in-the-middle's `register-hooks` entry): no loader thread, no
 * acknowledgement to wait for, and none of the DEP0205 deprecation of `module.register`. Older
 * lines (22.15 to 22.22.2, 24.0 to 24.11.0) get the asynchronous `module.register` loader.
 */
import * as nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { diag } from '@opentelemetry/api';
import { createAddHookMessageChannel } from 'import-in-the-middle';

declare const __filename: string | undefined;
const selfUrl = typeof __filename === 'string' ? pathToFileURL(__filename).href : import.meta.url;
const localRequire = nodeModule.createRequire(selfUrl);

export type EsmHookKind = 'sync' | 'async' | 'none';

export interface EsmHook {
  readonly kind: EsmHookKind;
  /**
   * Resolves when the loader has acknowledged every module hooked so far: call it after the
   * instrumentations are enabled. Immediate for the synchronous hook.
   */
  readonly ready: () => Promise<void>;
}

interface SyncHooksEntry {
  register(options: { include: string[] }): void;
}

type ResolveHook = NonNullable<Parameters<typeof nodeModule.registerHooks>[0]['resolve']>;

/**
 * import-in-the-middle 3.6's synchronous resolve hook treats a resolution without a parent as
 * the entry point and marks it `commonjs`; for a built-in (the `module` that `node -e` scripts
 * get, a `require('util')` there) Node then tries to read a file named `module` and throws.
 * Registered after it, this hook runs first and puts a built-in's format back.
 */
const keepBuiltinsBuiltin: ResolveHook = (specifier, context, nextResolve) => {
  const result = nextResolve(specifier, context);
  return nodeModule.isBuiltin(specifier) && result.url.startsWith('node:') && result.format !== 'builtin'
    ? { ...result, format: 'builtin' }
    : result;
};

function supportsSyncHooks(): boolean {
  return (localRequire('import-in-the-middle/supports-sync-hooks.mjs') as { supportsSyncHooks(): boolean }).supportsSyncHooks();
}

export function registerEsmLoaderHook(modules: readonly string[]): EsmHook {
  const none: EsmHook = { kind: 'none', ready: () => Promise.resolve() };
  if (modules.length === 0) return none;
  try {
    if (typeof nodeModule.registerHooks === 'function' && supportsSyncHooks()) {
      (localRequire('import-in-the-middle/register-hooks.mjs') as SyncHooksEntry).register({ include: [...modules] });
      nodeModule.registerHooks({ resolve: keepBuiltinsBuiltin });
      return { kind: 'sync', ready: () => Promise.resolve() };
    }
    const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
    const data = (registerOptions.data ?? {}) as { include?: unknown[] };
    data.include = [...modules];
    nodeModule.register('import-in-the-middle/hook.mjs', selfUrl, { ...registerOptions, data });
    return { kind: 'async', ready: waitForAllMessagesAcknowledged };
  } catch (error) {
    diag.warn(`could not register the ESM loader hook: ${error instanceof Error ? error.message : String(error)}`);
    return none;
  }
}
