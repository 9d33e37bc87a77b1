import { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { InferenceInstrumentation, type InferenceInstrumentationConfig } from '../base.js';
import { warnIfDoubleCounting } from './double-count.js';
import { patchOpenAI, type OpenAIInstrumentationOptions } from './patch.js';

/** The `openai` versions patched: every major that runs on the supported Node.js lines. */
export const OPENAI_SUPPORTED_VERSIONS = ['>=4.0.0 <8'];

export interface OpenAIInstrumentationConfig
  extends InferenceInstrumentationConfig,
    Pick<OpenAIInstrumentationOptions, 'providerName' | 'streamUsage' | 'streamUsageHosts'> {}

/**
 * The `openai` client as a standard OpenTelemetry Instrumentation: pass it to the NodeSDK's
 * `instrumentations`, or to `registerInstrumentations`. It patches every copy of `openai` that
 * is loaded after it is enabled (CJS through require-in-the-middle, ESM through
 * import-in-the-middle) and records through the MeterProvider it is given. `disable()`
 * restores the original methods.
 */
export class OpenAIInstrumentation extends InferenceInstrumentation<OpenAIInstrumentationConfig> {
  constructor(config: OpenAIInstrumentationConfig = {}) {
    super('@otel-inference/instrumentation/openai', config);
  }

  protected override init() {
    const { patch, unpatch } = this.patchHooks((moduleExports) => this.patch(moduleExports));
    return [new InstrumentationNodeModuleDefinition('openai', OPENAI_SUPPORTED_VERSIONS, patch, unpatch)];
  }

  private patch(moduleExports: unknown): () => void {
    const { providerName, streamUsage, streamUsageHosts } = this.getConfig();
    const options = {
      ...(providerName !== undefined ? { providerName } : {}),
      ...(streamUsage !== undefined ? { streamUsage } : {}),
      ...(streamUsageHosts !== undefined ? { streamUsageHosts } : {}),
    };
    const checkDoubleCounting = () => warnIfDoubleCounting(moduleExports);
    const undo = patchOpenAI(moduleExports, options, () => this.metrics, checkDoubleCounting);
    checkDoubleCounting();
    return undo;
  }
}
