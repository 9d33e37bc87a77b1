import type { MeterProvider } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { createInferenceMetrics, type InferenceMetrics } from '../core/metrics.js';
import { VERSION } from '../version.js';

/** What every inference instrumentation accepts. */
export interface InferenceInstrumentationConfig extends InstrumentationConfig {
  /**
   * Models that may appear as `gen_ai.request.model` / `gen_ai.response.model`; any other is
   * recorded as `other`, to bound cardinality. Entries are exact names or regular expressions.
   * Default: every model as given. Register reads `OTEL_INFERENCE_MODEL_ALLOWLIST`.
   */
  modelAllowlist?: readonly (string | RegExp)[];
}

/**
 * The shared base of the library adapters: an OpenTelemetry `InstrumentationBase` whose
 * patches record through {@link InferenceMetrics}. Until a MeterProvider is given
 * (`registerInstrumentations`, the NodeSDK, or `setMeterProvider`), it records into the
 * global one, looked up at each request.
 */
export abstract class InferenceInstrumentation<
  C extends InferenceInstrumentationConfig = InferenceInstrumentationConfig,
> extends InstrumentationBase<C> {
  // Set only after construction: InstrumentationBase's constructor calls setConfig() and init()
  // before a subclass's fields are initialised.
  private meterProvider: MeterProvider | undefined;
  private inferenceMetrics: InferenceMetrics | undefined;
  private undos: (() => void)[] | undefined;

  constructor(name: string, config: C = {} as C) {
    super(name, VERSION, config);
  }

  /** Where the patches record: the MeterProvider given, with the configured model allowlist. */
  protected get metrics(): InferenceMetrics {
    this.inferenceMetrics ??= createInferenceMetrics({
      ...(this.meterProvider !== undefined ? { meterProvider: this.meterProvider } : {}),
      ...(this.getConfig().modelAllowlist !== undefined ? { modelAllowlist: this.getConfig().modelAllowlist } : {}),
    });
    return this.inferenceMetrics;
  }

  /**
   * The patch and unpatch callbacks of a module definition (or module file) whose `patch` returns
   * its undo, or `{ exports, undo }` when it hands out replacement exports. Each copy of the module
   * (ESM and CJS) is patched on load; unpatch undoes every patch applied.
   */
  protected patchHooks(patch: (moduleExports: unknown) => (() => void) | { exports: unknown; undo: () => void }): {
    patch: (moduleExports: unknown) => unknown;
    unpatch: (moduleExports: unknown) => unknown;
  } {
    return {
      patch: (moduleExports) => {
        const patched = patch(moduleExports);
        if (typeof patched === 'function') {
          (this.undos ??= []).push(patched);
          return moduleExports;
        }
        (this.undos ??= []).push(patched.undo);
        return patched.exports;
      },
      unpatch: (moduleExports) => {
        for (const undo of this.undos?.splice(0) ?? []) undo();
        return moduleExports;
      },
    };
  }

  override setMeterProvider(meterProvider: MeterProvider): void {
    super.setMeterProvider(meterProvider);
    this.meterProvider = meterProvider;
    this.inferenceMetrics = undefined;
  }

  override setConfig(config: C = {} as C): void {
    super.setConfig(config);
    this.inferenceMetrics = undefined;
  }
}
