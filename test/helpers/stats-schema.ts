/**
 * Validates /v1/stats documents against packages/otel-inference/stats.schema.json with Ajv
 * (strict mode: a schema keyword Ajv does not know is an error, not a silent pass).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packages/otel-inference/stats.schema.json');

export const statsSchema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as object;

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(statsSchema);

/** The schema's complaints about `doc`, one line each; empty when it is valid. */
export function validateStats(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
