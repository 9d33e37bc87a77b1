/**
 * The embedded Prometheus endpoint: port 0 binds any free port (logged, and in
 * getRegisterStatus()), and an idle keep-alive connection from a scraper does not hold the
 * app's exit.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { diagLines, start } from '../../helpers/apps.js';

function scrape(port: number, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function lagAfterLastStatement(app: ReturnType<typeof start>): Promise<number> {
  const res = await app.done;
  const closedAt = Date.now();
  const last = /last statement (\d+)/.exec(res.stdout);
  expect(last, `${res.stdout}\n${res.stderr}`).not.toBeNull();
  return closedAt - Number(last![1]);
}

describe('the embedded Prometheus endpoint', () => {
  it('OTEL_EXPORTER_PROMETHEUS_PORT=0 listens on a free port, says which, and an idle scraper does not hold the exit', async () => {
    const env = { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_EXPORTER_PROMETHEUS_PORT: '0', FIXTURE_RUN_MS: '1500' };
    const app = start({ app: 'prometheus-endpoint.mjs', env });
    const control = start({ app: 'busy.mjs', loader: 'none', env: { FIXTURE_RUN_MS: '1500' } });
    let stdout = '';
    app.child.stdout!.on('data', (d: string) => (stdout += d));
    await app.waitForOutput('port ');
    const port = Number(/port (\d+)/.exec(stdout)![1]);
    expect(port).toBeGreaterThan(0);
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    try {
      // Scrape once and keep the connection open and idle, as Prometheus does between scrapes.
      const { status, body } = await scrape(port, agent);
      expect(status).toBe(200);
      expect(body).toContain('fixture_calls_total');
      const [appLag, controlLag] = await Promise.all([lagAfterLastStatement(app), lagAfterLastStatement(control)]);
      // Before, the exit waited for the scraper's keep-alive timeout (5 s).
      expect(appLag).toBeLessThan(controlLag + 1500);
      const res = await app.done;
      expect(res.code).toBe(0);
      expect(diagLines(res.stderr)).toEqual([`otel-inference: info: the Prometheus endpoint listens on http://localhost:${port}/metrics`]);
    } finally {
      agent.destroy();
    }
  });
});
