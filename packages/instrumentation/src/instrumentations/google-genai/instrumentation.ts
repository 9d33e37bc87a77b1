import { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { patchGoogleGenAI } from './patch.js';

/**
 * The `@google/genai` versions patched: every release (0.2.0 was the first), all of which run on
 * the supported Node.js lines; docs/libraries/google-genai.md says how each major is tested.
 */
export const GOOGLE_GENAI_SUPPORTED_VERSIONS = ['>=0.2.0 <4'];

export type GoogleGenAIInstrumentationConfig = InferenceInstrumentationConfig;

/**
 * `@google/genai` as a standard OpenTelemetry Instrumentation: pass it to the NodeSDK's
 * `instrumentations`, or to `registerInstrumentations`. It patches every copy of the package
 * loaded after it is enabled (CJS through require-in-the-middle, ESM through
 * import-in-the-middle) and records each model request of `models.generateContent`,
 * `generateContentStream`, `embedContent` and the `chats` built on them. `disable()` restores
 * the original methods.
 */
export class GoogleGenAIInstrumentation extends InferenceInstrumentation<GoogleGenAIInstrumentationConfig> {
  constructor(config: GoogleGenAIInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/google-genai', config);
  }

  protected override init() {
    const { patch, unpatch } = this.patchHooks((moduleExports) => patchGoogleGenAI(moduleExports, () => this.metrics));
    return [new InstrumentationNodeModuleDefinition('@google/genai', GOOGLE_GENAI_SUPPORTED_VERSIONS, patch, unpatch)];
  }
}
