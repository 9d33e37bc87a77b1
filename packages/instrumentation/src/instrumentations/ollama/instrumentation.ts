import { InstrumentationNodeModuleDefinition, InstrumentationNodeModuleFile } from '@opentelemetry/instrumentation';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { patchOllama } from './patch.js';

/**
 * The `ollama` versions patched: the 0.5 line from 0.5.2 (the first whose streams are
 * AbortableAsyncIterators with a controller of their own) and the 0.6 line. Under semver a 0.x
 * minor is a major; both run on every supported Node.js line.
 */
export const OLLAMA_SUPPORTED_VERSIONS = ['>=0.5.2 <0.7'];

/** What {@link OllamaInstrumentation} accepts. */
export type OllamaInstrumentationConfig = InferenceInstrumentationConfig;

/**
 * The `ollama` client as a standard OpenTelemetry Instrumentation: pass it to the NodeSDK's
 * `instrumentations`, or to `registerInstrumentations`. It patches every copy of `ollama` that
 * is loaded after it is enabled, `ollama` and `ollama/browser`, CJS (require-in-the-middle)
 * and ESM (import-in-the-middle), and records through the MeterProvider it is given.
 * `disable()` restores the original methods.
 */
export class OllamaInstrumentation extends InferenceInstrumentation<OllamaInstrumentationConfig> {
  constructor(config: OllamaInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/ollama', config);
  }

  protected override init() {
    const { patch, unpatch } = this.patchHooks((moduleExports) => patchOllama(moduleExports, () => this.metrics));
    // `ollama/browser` is the module that defines the client (the Node build extends it). A
    // require of `ollama` loads it as `ollama/dist/browser.cjs`; an import of `ollama/browser`
    // reaches the ESM hook as `ollama/dist/browser.mjs`.
    const files = ['ollama/dist/browser.cjs', 'ollama/dist/browser.mjs'].map(
      (file) => new InstrumentationNodeModuleFile(file, OLLAMA_SUPPORTED_VERSIONS, patch, unpatch),
    );
    return [new InstrumentationNodeModuleDefinition('ollama', OLLAMA_SUPPORTED_VERSIONS, patch, unpatch, files)];
  }
}
