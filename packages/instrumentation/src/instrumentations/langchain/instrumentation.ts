import { createRequire } from 'node:module';
import path from 'node:path';
import { diag } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, InstrumentationNodeModuleFile } from '@opentelemetry/instrumentation';
import { reportInternalError } from '../../core/internal-errors.js';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { InferenceCallbackHandler } from './handler.js';
import { attachHandler, patchLangChainStreams } from './instrument.js';

/**
 * The `@langchain/core` versions instrumented: 0.3 and 1.x, the lines that run on the supported
 * Node.js versions and have `registerConfigureHook`.
 */
export const LANGCHAIN_SUPPORTED_VERSIONS = ['>=0.3.0 <2'];

/**
 * The files of `@langchain/core` hooked: BaseChatModel and BaseLLM, in its ESM (`.js`) and CJS
 * (`.cjs`) builds. Every chat model or LLM package imports one of them.
 */
const FILES = [
  { file: 'dist/language_models/chat_models', className: 'BaseChatModel' },
  { file: 'dist/language_models/llms', className: 'BaseLLM' },
  // The entry points' own files, which re-export those: an ESM import of
  // `@langchain/core/language_models/chat_models` is hooked at this file.
  { file: 'language_models/chat_models', className: 'BaseChatModel' },
  { file: 'language_models/llms', className: 'BaseLLM' },
] as const;

/** The public specifiers of those files: what the ESM loader hook intercepts. */
export const LANGCHAIN_MODULES = ['@langchain/core/language_models/chat_models', '@langchain/core/language_models/llms'];

export type LangChainInstrumentationConfig = InferenceInstrumentationConfig;

type OnRequire = (this: LangChainInstrumentation, module: unknown, exports: unknown, name: string, baseDir?: string) => unknown;

/**
 * `@langchain/core` as a standard OpenTelemetry Instrumentation: when a copy of it loads (ESM or
 * CJS), an {@link InferenceCallbackHandler} is attached to all its runs through LangChain's
 * configure hook, and its streams are watched. Runs of models whose client library a client
 * adapter records (ChatOpenAI on `openai`, ...) are left to that adapter.
 */
export class LangChainInstrumentation extends InferenceInstrumentation<LangChainInstrumentationConfig> {
  private uninstalls: (() => void)[] | undefined;
  private callbackHandler: InferenceCallbackHandler | undefined;
  /** The package directory of the copy being loaded, while its files are patched. */
  private loadingBaseDir: string | undefined;
  private attached: Set<string> | undefined;

  constructor(config: LangChainInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/langchain', config);
    // The file patches need the directory of the copy being loaded, to find its context module;
    // InstrumentationBase passes it only to _onRequire.
    const self = this as unknown as { _onRequire?: OnRequire };
    const onRequire = self._onRequire;
    if (typeof onRequire === 'function') {
      self._onRequire = function (this: LangChainInstrumentation, module, exports, name, baseDir) {
        const previous = this.loadingBaseDir;
        this.loadingBaseDir = baseDir;
        try {
          return onRequire.call(this, module, exports, name, baseDir);
        } finally {
          this.loadingBaseDir = previous;
        }
      };
    }
  }

  /** The handler this instrumentation attaches; add it to `callbacks` yourself where no hook applies. */
  get handler(): InferenceCallbackHandler {
    return (this.callbackHandler ??= new InferenceCallbackHandler({ abandonAfterMs: 0 }, () => this.metrics));
  }

  protected override init() {
    const files = FILES.flatMap(({ file, className }) =>
      (['.js', '.cjs'] as const).map(
        (ext) =>
          new InstrumentationNodeModuleFile(
            `@langchain/core/${file}${ext}`,
            LANGCHAIN_SUPPORTED_VERSIONS,
            (moduleExports: unknown) => {
              this.patch(moduleExports, className, ext);
              return moduleExports;
            },
            (moduleExports: unknown) => {
              this.unpatch();
              return moduleExports;
            },
          ),
      ),
    );
    return [new InstrumentationNodeModuleDefinition('@langchain/core', LANGCHAIN_SUPPORTED_VERSIONS, undefined, undefined, files)];
  }

  private patch(moduleExports: unknown, className: string, ext: '.js' | '.cjs'): void {
    this.handler.enabled = true;
    const modules = className === 'BaseChatModel' ? { chatModels: moduleExports } : { llms: moduleExports };
    (this.uninstalls ??= []).push(patchLangChainStreams(modules));
    const baseDir = this.loadingBaseDir;
    if (baseDir === undefined) {
      diag.warn('otel-inference: @langchain/core loaded, but its directory is unknown: the LangChain callback handler is not attached');
      return;
    }
    const contextFile = path.join(baseDir, 'dist', `context${ext}`);
    if ((this.attached ??= new Set()).has(contextFile)) return;
    this.attached.add(contextFile);
    try {
      // The same copy and build as the file being loaded: the configure hooks are kept per copy.
      // An ESM file is loaded with require(esm), synchronously, so that the hook is registered
      // in the app's own async context (LangChain keeps it in an AsyncLocalStorage context).
      const context: unknown = createRequire(contextFile)(contextFile);
      if (!attachHandler(context, this.handler)) {
        diag.warn('otel-inference: @langchain/core has no registerConfigureHook: the LangChain callback handler is not attached');
      }
    } catch (error) {
      reportInternalError('langchain configure hook', error);
    }
  }

  private unpatch(): void {
    if (this.callbackHandler !== undefined) this.callbackHandler.enabled = false;
    for (const uninstall of this.uninstalls?.splice(0) ?? []) uninstall();
  }
}
