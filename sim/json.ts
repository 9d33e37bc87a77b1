/** A parsed JSON object (a request body, the x-sim header): its fields are whatever the client sent. */
export type JsonObject = Record<string, unknown>;

export function isPlainObject(v: unknown): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `v?.[key]` for a value of unknown shape. */
export function get(v: unknown, key: string): unknown {
  return v === null || v === undefined ? undefined : (v as Record<string, unknown>)[key];
}
