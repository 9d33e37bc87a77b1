/**
 * register's diag logger (RegisterDiagLogger) in process, through its injectable `write`: one
 * warning per streak of failed exports, re-armed by a success; header secrets redacted; one line
 * with no stack and no bytes below debug, the stack at debug.
 */
import { DiagLogLevel } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { RegisterDiagLogger, secretsFromEnv } from '../../../packages/otel-inference/src/register/diag.js';

function logger(secrets: readonly string[] = [], level: DiagLogLevel = DiagLogLevel.INFO): { log: RegisterDiagLogger; lines: string[] } {
  const lines: string[] = [];
  const log = new RegisterDiagLogger(secrets, (line) => lines.push(line));
  log.level = level;
  return { log, lines };
}

describe('failed exports: one warning per streak, re-armed by a success', () => {
  it('exportFailed: the first failure of a streak warns, the rest do not; after a success the next failure warns again', () => {
    const { log, lines } = logger();
    log.exportFailed('metrics export failed: ECONNREFUSED 127.0.0.1:4318');
    log.exportFailed('metrics export failed: ECONNREFUSED 127.0.0.1:4318');
    log.exportFailed('metrics export failed: timeout');
    expect(lines).toEqual([
      'otel-inference: warn: metrics export failed: ECONNREFUSED 127.0.0.1:4318 (further export errors are not logged until an export succeeds)',
    ]);
    log.exportSucceeded();
    expect(lines.slice(1)).toEqual(['otel-inference: info: metrics export succeeded again']);
    log.exportFailed('metrics export failed: ECONNREFUSED 127.0.0.1:4318');
    log.exportFailed('metrics export failed: timeout');
    expect(lines.slice(2)).toEqual([
      'otel-inference: warn: metrics export failed: ECONNREFUSED 127.0.0.1:4318 (further export errors are not logged until an export succeeds)',
    ]);
  });

  it('export errors logged through diag follow the same streak, and a success re-arms them too', () => {
    const { log, lines } = logger();
    log.error('OTLP export failed', new Error('socket hang up'));
    log.warn('OTLP export failed', new Error('ECONNRESET'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^otel-inference: error: OTLP export failed \(Error: socket hang up\) \(further export errors/);
    log.exportSucceeded();
    log.warn('OTLP export failed', new Error('ECONNRESET'));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('otel-inference: info: metrics export succeeded again');
    expect(lines[2]).toMatch(/^otel-inference: warn: OTLP export failed \(Error: ECONNRESET\)/);
  });

  it('a success with no failure before it prints nothing; below warn, export details print nothing', () => {
    const { log, lines } = logger();
    log.exportSucceeded();
    log.info('OTLP export attempt 1 of 1');
    log.debug('OTLP export attempt 1 of 1');
    expect(lines).toEqual([]);
  });

  it('other warnings print once each, however often they are logged', () => {
    const { log, lines } = logger();
    for (let i = 0; i < 3; i++) {
      log.warn('OTEL_METRIC_EXPORT_INTERVAL="soon" is invalid');
      log.warn('something else');
    }
    expect(lines).toEqual(['otel-inference: warn: OTEL_METRIC_EXPORT_INTERVAL="soon" is invalid', 'otel-inference: warn: something else']);
  });
});

describe('OTEL_EXPORTER_OTLP_HEADERS secrets are redacted', () => {
  const env = {
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer sk-SECRET-123,x-tenant=acme%20SECRET2',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-api-key=SECRET3key',
  };

  it('secretsFromEnv: the values, their decoded form and the token after Bearer, longest first', () => {
    const secrets = secretsFromEnv(env);
    expect(secrets).toEqual(expect.arrayContaining(['Bearer sk-SECRET-123', 'sk-SECRET-123', 'acme%20SECRET2', 'acme SECRET2', 'SECRET3key']));
    expect(secrets.indexOf('Bearer sk-SECRET-123')).toBeLessThan(secrets.indexOf('sk-SECRET-123'));
    expect(secretsFromEnv({})).toEqual([]);
  });

  it.each([
    ['info', DiagLogLevel.INFO],
    ['debug', DiagLogLevel.DEBUG],
  ])('no secret in any line (level %s), whether whole, decoded or alone', (_name, level) => {
    const { log, lines } = logger(secretsFromEnv(env), level);
    log.warn('request headers: authorization=Bearer sk-SECRET-123');
    log.error('token sk-SECRET-123 rejected', new Error('tenant acme SECRET2 (acme%20SECRET2) unknown'));
    log.info('key', 'SECRET3key');
    expect(lines).toHaveLength(3);
    const text = lines.join('\n');
    expect(text).not.toMatch(/SECRET/);
    expect(lines[0]).toBe('otel-inference: warn: request headers: authorization=[REDACTED]');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(5);
  });

  it('export failures too', () => {
    const { log, lines } = logger(secretsFromEnv(env));
    log.exportFailed('export to https://collector with Bearer sk-SECRET-123 failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('SECRET');
    expect(lines[0]).toContain('with [REDACTED] failed');
  });
});

describe('an Error and a Buffer argument', () => {
  const error = (): Error => {
    const e = new Error('model server\nunreachable');
    e.stack = `Error: model server\nunreachable\n    at fetchModel (/app/model.js:10:5)\n    at main (/app/index.js:3:1)`;
    return e;
  };
  const body = Buffer.from('BODYBYTES-0123');

  it.each([
    ['info', DiagLogLevel.INFO],
    ['warn', DiagLogLevel.WARN],
    ['error', DiagLogLevel.ERROR],
  ])(
    'below debug (level %s): one line with the error message, no stack, no bytes',
    (_name, level) => {
      const { log, lines } = logger([], level);
      log.error('request to the model failed', error(), body);
      expect(lines).toEqual(['otel-inference: error: request to the model failed (Error: model server unreachable)']);
    },
  );

  it('at debug: the stack is there (and the bytes may be)', () => {
    const { log, lines } = logger([], DiagLogLevel.DEBUG);
    log.error('request to the model failed', error(), body);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^otel-inference: error: request to the model failed /);
    expect(lines[0]).toContain('at fetchModel (/app/model.js:10:5)');
    expect(lines[0]).toContain('at main (/app/index.js:3:1)');
  });

  it('below the level, nothing', () => {
    const { log, lines } = logger([], DiagLogLevel.WARN);
    log.info('started', error(), body);
    log.debug('detail', error(), body);
    expect(lines).toEqual([]);
  });
});
