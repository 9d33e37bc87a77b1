/**
 * Two copies of the library in one process (the built CJS next to the ESM sources, as an app with
 * both module systems has them): served requests of both record into one series per attribute set
 * of one MeterProvider, and one cancelOpenRequests() ends the open ones of both.
 */
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cancelOpenRequests, startServerRequest } from '../../../packages/instrumentation/src/index.js';
import { SERVER_METRIC as M } from '../../../packages/instrumentation/src/semconv.js';
import { captureDiag, createTestMetrics, type TestMetrics } from '../../helpers/metrics.js';

const require = createRequire(import.meta.url);
/** The built CJS copy (npm run build). */
const cjs = require('../../../packages/instrumentation/dist/index.cjs') as typeof import('../../../packages/instrumentation/src/index.js');

let t: TestMetrics;
beforeEach(() => {
  cancelOpenRequests();
  t = createTestMetrics();
});
afterEach(async () => {
  await t.shutdown();
});

describe('two copies of the library', () => {
  it('record into the same series, with no duplicate-instrument warning, and are ended by either copy’s cancelOpenRequests', async () => {
    const diagnostics = captureDiag();
    const options = { meterProvider: t.provider, provider: 'p', requestModel: 'm' };
    startServerRequest(options).end();
    cjs.startServerRequest(options).end();
    const openEsm = startServerRequest(options);
    const openCjs = cjs.startServerRequest(options);
    let c = await t.collect();
    expect(c.metrics.filter((m) => m.descriptor.name === M.requests)).toHaveLength(1);
    expect(c.sums(M.requests)).toHaveLength(1);
    expect(c.total(M.requests)).toBe(2);
    expect(c.total(M.activeRequests)).toBe(2);

    expect(cjs.cancelOpenRequests()).toBe(2);
    expect(openEsm.ended && openCjs.ended).toBe(true);
    c = await t.collect();
    diagnostics.stop();
    expect(c.total(M.activeRequests)).toBe(0);
    expect(c.total(M.requests, { 'error.type': 'shutdown' })).toBe(2);
    expect(diagnostics.lines.warn).toEqual([]);
    expect(diagnostics.lines.error).toEqual([]);
  });
});
