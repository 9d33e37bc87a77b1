/**
 * Label hygiene for the attribute values that come from the caller (models, backend names): one
 * rule, used for every such attribute. A value is kept when it is a clean label value and one of
 * the first `maxValues` distinct values seen; anything else is recorded as `other`. The SDK's
 * cardinality limit (2000 series per metric) applies on top, but its overflow series drops every
 * attribute, where `other` keeps the rest of the series (operation, provider, outcome...).
 */
import { diag } from '@opentelemetry/api';

/** The longest label value kept, in UTF-16 code units. Longer values are not names but payloads. */
export const MAX_LABEL_LENGTH = 128;

/**
 * Distinct models one recorder ({@link InferenceMetrics}) keeps when no model allowlist is given;
 * with an allowlist, the allowlist is the bound.
 */
export const MAX_MODELS = 100;

/** Distinct backend names one process keeps (`withBackend`, `InferenceRequest.backend`, fallbacks). */
export const MAX_BACKENDS = 32;

/** Control characters, and lone surrogates (not valid UTF-8, so every exporter would alter them). */
const UNCLEAN = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A clean label value: a non-empty string of at most {@link MAX_LABEL_LENGTH} characters, no control characters. */
export function isCleanLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_LABEL_LENGTH && !UNCLEAN.test(value);
}

/**
 * Bounds one attribute's values. `bound(value)` returns `value` itself when it is clean, passes
 * `accept` (an allowlist) and is one of the first `maxValues` distinct values kept, else `other`.
 * A value kept once is kept for the life of the bound, so a series never changes its label. The
 * steady-state cost is one Set lookup.
 */
export class LabelBound {
  private readonly kept = new Set<string>();
  private warned = false;

  constructor(
    /** What the values are, for the one warning when the bound is reached, e.g. `gen_ai.request.model`. */
    private readonly what: string,
    private readonly maxValues: number,
    private readonly other: string,
    private readonly accept?: (value: string) => boolean,
  ) {}

  bound(value: unknown): string {
    if (typeof value === 'string' && this.kept.has(value)) return value;
    if (!isCleanLabel(value) || (this.accept !== undefined && !this.accept(value))) return this.other;
    if (this.kept.size >= this.maxValues) {
      if (!this.warned) {
        this.warned = true;
        diag.warn(
          `otel-inference: more than ${this.maxValues} distinct ${this.what} values; later new ones are recorded as "${this.other}"`,
        );
      }
      return this.other;
    }
    this.kept.add(value);
    return value;
  }
}
