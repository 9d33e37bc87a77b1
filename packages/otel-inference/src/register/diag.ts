/**
 * The diag logger installed by the register entry: writes to stderr (never stdout, so the
 * app's output is unchanged), redacts every OTLP header value, prints each distinct
 * warning once, and prints at most one line per streak of failed exports (the streak
 * ends when an export succeeds).
 */
import { format } from 'node:util';
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';

const PREFIX = 'otel-inference:';
/** Bounded memory: at most this many distinct messages are remembered for de-duplication. */
const MAX_REMEMBERED = 256;
/** Configuration warnings name the variable: they are not export failures. */
const CONFIG_MESSAGE = /\bOTEL_[A-Z_]+/;
const EXPORT_RELATED = /export|OTLP|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|socket hang up/i;

/** Header values from OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_METRICS_HEADERS (and their raw strings). */
export function secretsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const secrets = new Set<string>();
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS']) {
    const raw = env[name];
    if (!raw || raw.trim() === '') continue;
    secrets.add(raw.trim());
    for (const pair of raw.split(',')) {
      const eq = pair.indexOf('=');
      if (eq < 0) {
        if (pair.trim()) secrets.add(pair.trim());
        continue;
      }
      const value = pair.slice(eq + 1).trim();
      if (!value) continue;
      secrets.add(value);
      try {
        secrets.add(decodeURIComponent(value));
      } catch {
        /* not percent-encoded */
      }
      // Bearer tokens and the like: the token alone may be printed somewhere too.
      for (const word of value.split(/\s+/)) if (word.length >= 6) secrets.add(word);
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
}

/** A log call's arguments as one line: errors by their message, objects and bytes left out. */
function oneLine(args: unknown[]): string {
  const parts: string[] = [];
  for (const arg of args) {
    if (typeof arg === 'string') parts.push(arg);
    else if (typeof arg === 'number' || typeof arg === 'boolean' || typeof arg === 'bigint') parts.push(String(arg));
    else if (arg instanceof Error) parts.push(`(${arg.name}: ${arg.message})`);
  }
  return parts.join(' ').replace(/\s*\n\s*/g, ' ').trim();
}

export class RegisterDiagLogger implements DiagLogger {
  level: DiagLogLevel = DiagLogLevel.INFO;
  private readonly seen = new Set<string>();
  private exportFailing = false;
  private exportReported = false;

  constructor(
    private readonly secrets: readonly string[],
    private readonly write: (line: string) => void = (line) => {
      try {
        process.stderr.write(line + '\n');
      } catch {
        /* stderr closed: nothing to do */
      }
    },
  ) {}

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out;
  }

  /** An export succeeded: the failure streak (if any) ends. */
  exportSucceeded(): void {
    if (this.exportFailing && this.level >= DiagLogLevel.INFO) this.write(`${PREFIX} info: metrics export succeeded again`);
    this.exportFailing = false;
    this.exportReported = false;
  }

  /** An export failed: the first failure of a streak is printed, the rest are not. */
  exportFailed(message: string): void {
    this.exportFailing = true;
    this.emit(DiagLogLevel.WARN, 'warn', [message], true);
  }

  private emit(level: DiagLogLevel, label: string, args: unknown[], exportFailure = false): void {
    if (level > this.level) return;
    const verbose = this.level >= DiagLogLevel.DEBUG;
    let text: string;
    try {
      // Messages of this package already name it. Below debug, one line, with no stack and no
      // body bytes: stacks and dumps are for OTEL_LOG_LEVEL=debug.
      text = this.redact(verbose ? format(...args) : oneLine(args)).replace(/^otel-inference:\s*/, '');
    } catch {
      return;
    }
    if (!verbose && (exportFailure || (EXPORT_RELATED.test(text) && !CONFIG_MESSAGE.test(text)))) {
      // Retries and per-attempt details are below warn: not worth a line each.
      if (level > DiagLogLevel.WARN) return;
      this.exportFailing = true;
      if (this.exportReported) return;
      this.exportReported = true;
      text += ' (further export errors are not logged until an export succeeds)';
    } else if (!verbose) {
      if (this.seen.has(text)) return;
      if (this.seen.size < MAX_REMEMBERED) this.seen.add(text);
    }
    this.write(`${PREFIX} ${label}: ${text}`);
  }

  error = (message: string, ...args: unknown[]): void => this.emit(DiagLogLevel.ERROR, 'error', [message, ...args]);
  warn = (message: string, ...args: unknown[]): void => this.emit(DiagLogLevel.WARN, 'warn', [message, ...args]);
  info = (message: string, ...args: unknown[]): void => this.emit(DiagLogLevel.INFO, 'info', [message, ...args]);
  debug = (message: string, ...args: unknown[]): void => this.emit(DiagLogLevel.DEBUG, 'debug', [message, ...args]);
  verbose = (message: string, ...args: unknown[]): void =>
    this.emit(DiagLogLevel.VERBOSE, 'verbose', [message, ...args]);
}

/** Installs the logger as the global diag logger; our own filtering decides what is printed. */
export function installDiagLogger(logger: RegisterDiagLogger): void {
  diag.setLogger(logger, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
}
