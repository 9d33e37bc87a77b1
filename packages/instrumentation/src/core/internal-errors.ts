import { diag } from '@opentelemetry/api';

const reported = new Set<string>();

/**
 * Reports a failure inside the instrumentation through the OTel diag logger, once per
 * place, so that a bug here is visible but never reaches the caller or floods the log.
 * Only the error's name and message are logged: never chunk or request content.
 */
export function reportInternalError(where: string, error: unknown): void {
  if (reported.has(where)) return;
  reported.add(where);
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : typeof error;
  diag.error(`otel-inference: instrumentation failed in ${where}; the call goes on untouched (${detail})`);
}
