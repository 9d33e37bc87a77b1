import { ERROR_TYPE, OUTCOME, type Outcome } from '../semconv.js';
import { isRecord } from './guards.js';

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const ABORT_NAMES = new Set(['AbortError', 'APIUserAbortError']);
const IDENTIFIER = /^[A-Za-z_$][\w$.]{0,63}$/;

function field(value: unknown, key: string): unknown {
  return isRecord(value) ? value[key] : undefined;
}

function errorName(error: unknown): string | undefined {
  const name = field(error, 'name');
  if (typeof name === 'string' && name !== 'Error') return name;
  const ctor = isRecord(error) ? (error.constructor as { name?: unknown } | undefined)?.name : undefined;
  return typeof ctor === 'string' && ctor !== '' ? ctor : typeof name === 'string' ? name : undefined;
}

/**
 * True for errors that mean the caller gave up (abort signal), not that the call failed. By name
 * or, when the name is plain `Error`, by class: openai's `APIUserAbortError` keeps `name` = `Error`.
 */
export function isAbortError(error: unknown): boolean {
  const name = errorName(error);
  return (name !== undefined && ABORT_NAMES.has(name)) || field(error, 'code') === 'ABORT_ERR';
}

/**
 * Low-cardinality `error.type`: the HTTP status code when the error carries one (`status`,
 * `statusCode`, or the AWS SDK's `$metadata.httpStatusCode`), `timeout` for timeouts, otherwise
 * the error's class name (`_OTHER` when it has none we can trust).
 */
export function errorTypeOf(error: unknown): string {
  const status = field(error, 'status') ?? field(error, 'statusCode') ?? field(field(error, '$metadata'), 'httpStatusCode');
  if (typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599) {
    return String(status);
  }
  const name = errorName(error);
  const code = field(error, 'code');
  const causeCode = field(field(error, 'cause'), 'code');
  if (
    (name !== undefined && /timeout/i.test(name)) ||
    (typeof code === 'string' && TIMEOUT_CODES.has(code)) ||
    (typeof causeCode === 'string' && TIMEOUT_CODES.has(causeCode))
  ) {
    return ERROR_TYPE.timeout;
  }
  return name !== undefined && IDENTIFIER.test(name) ? name : ERROR_TYPE.other;
}

/** How a call that threw `error` ended: cancelled when the caller aborted it, else error. */
export function outcomeOfError(error: unknown, signal?: AbortSignal): Outcome {
  return isAbortError(error) || signal?.aborted === true ? OUTCOME.cancelled : OUTCOME.error;
}
