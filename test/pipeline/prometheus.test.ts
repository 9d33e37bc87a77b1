import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { DEFAULT_EXPORT_INTERVAL_S, seconds } from './grafana-intervals.js';
import { lintPromQL } from './promql-lint.js';
import { read, repoPath, requireTool, run, which } from './tools.js';

const INSTALL_PROMTOOL = 'install promtool: `apt-get install prometheus` (scripts/install-prometheus.sh)';

const ruleFiles = readdirSync(repoPath('prometheus', 'rules')).filter((f) => f.endsWith('.yml'));
const testFiles = readdirSync(repoPath('prometheus', 'tests')).filter((f) => f.endsWith('.yml'));

/** `expr:` values of a rule file; every expression is written on one line. */
function exprs(file: string): Array<{ name: string; expr: string }> {
  const text = read('prometheus', 'rules', file);
  const out: Array<{ name: string; expr: string }> = [];
  let name = '';
  for (const line of text.split('\n')) {
    const n = /^\s*-\s*(?:record|alert):\s*(\S+)/.exec(line);
    if (n) name = n[1] as string;
    const e = /^\s*expr:\s*(.*)$/.exec(line);
    if (e) out.push({ name, expr: (e[1] as string).trim() });
  }
  return out;
}

const alerts = ruleFiles.flatMap((f) => [...read('prometheus', 'rules', f).matchAll(/^\s*-\s*alert:\s*(\S+)/gm)].map((m) => m[1] as string));

describe('Prometheus rules: static checks', () => {
  it('has recording rules and alerts', () => {
    expect(ruleFiles.length).toBeGreaterThan(0);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'InferenceHighErrorRatio',
        'InferenceTimeToFirstChunkP95AboveSLO',
        'InferenceMetricsTargetDown',
        'InferenceMetricsAbsent',
        'InferenceServerQueueTimeP95High',
        'InferenceServerQueueNotDraining',
        'InferenceFallbackRatioHigh',
      ]),
    );
  });

  it('every expression is a one-line scalar (so these checks see all of it)', () => {
    for (const f of ruleFiles) {
      for (const { name, expr } of exprs(f)) {
        expect(expr, `${f} ${name}`).not.toMatch(/^[|>]/);
        expect(expr.length, `${f} ${name}`).toBeGreaterThan(0);
      }
    }
  });

  it('every expression follows the PromQL rules (quantiles, means, ratios)', () => {
    for (const f of ruleFiles) {
      for (const { name, expr } of exprs(f)) expect(lintPromQL(expr), `${f} ${name}: ${expr}`).toEqual([]);
    }
  });

  it('recording rules use 5m windows and the agreed SLO bucket boundaries', () => {
    const all = ruleFiles.flatMap((f) => exprs(f)).map((e) => e.expr);
    for (const e of all) for (const w of e.matchAll(/\[([^\]]+)\]/g)) expect(w[1], e).toBe('5m');
    expect(all.some((e) => e.includes('le="1.28"'))).toBe(true);
    expect(all.some((e) => e.includes('le="10.24"'))).toBe(true);
  });

  it("every rule window spans at least four of the apps' exports at the default OTEL_METRIC_EXPORT_INTERVAL", () => {
    // A counter moves once per export (60 s by default): [5m] holds about five of them.
    const windows = ruleFiles.flatMap((f) => exprs(f)).flatMap((e) => [...e.expr.matchAll(/\[([^\]]+)\]/g)].map((w) => w[1] as string));
    expect(windows.length).toBeGreaterThan(20);
    for (const w of windows) expect(seconds(w), w).toBeGreaterThanOrEqual(4 * DEFAULT_EXPORT_INTERVAL_S);
  });

  it('every recording rule has a promtool test that expects values of it', () => {
    const records = ruleFiles.flatMap((f) => [...read('prometheus', 'rules', f).matchAll(/^\s*-\s*record:\s*(\S+)/gm)].map((m) => m[1] as string));
    expect(records.length).toBeGreaterThan(20);
    // `- expr: ...` blocks of the tests, each up to the next expr or test, with samples expected
    const blocks = testFiles
      .map((f) => read('prometheus', 'tests', f))
      .join('\n')
      .split(/\n\s*-\s*expr:\s*/)
      .slice(1)
      .map((b) => b.split(/\n\s*-\s*(?:expr|name|alertname):/)[0] ?? '');
    const valued = blocks.filter((b) => /exp_samples:\s*\n\s*(?:#.*\n\s*)*-\s*labels:/.test(b)).map((b) => b.split('\n')[0] ?? '');
    const untested = records.filter((r) => !valued.some((expr) => new RegExp(`(^|[^\\w:])${r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w:])`).test(expr)));
    expect(untested).toEqual([]);
  });

  it('every alert has promtool tests for firing and for not firing', () => {
    const tests = testFiles.map((f) => read('prometheus', 'tests', f)).join('\n');
    for (const alert of alerts) {
      const blocks = tests.split(/-\s*alertname:\s*/).slice(1).filter((b) => b.startsWith(`${alert}\n`) || b.startsWith(`${alert}\r\n`));
      const quiet = blocks.filter((b) => /exp_alerts:\s*\[\]/.test(b.split(/\n\s*-\s*alertname:/)[0] ?? ''));
      const firing = blocks.filter((b) => /exp_alerts:\s*\n\s*-\s*exp_labels:/.test(b));
      expect(quiet.length, `${alert}: no not-firing test`).toBeGreaterThan(0);
      expect(firing.length, `${alert}: no firing test`).toBeGreaterThan(0);
    }
  });

  it('prometheus.yml scrapes the collector exporter with honor_labels and the collector itself', () => {
    const cfg = read('prometheus', 'prometheus.yml');
    expect(cfg).toMatch(/job_name:\s*inference-apps\s*\n\s*honor_labels:\s*true\s*\n[\s\S]*?targets:\s*\['otel-collector:8889'\]/);
    expect(cfg).toMatch(/job_name:\s*otel-collector\s*\n[\s\S]*?targets:\s*\['otel-collector:8888'\]/);
  });
});

describe('Prometheus rules: promtool', () => {
  const promtool = which('promtool');

  it('promtool check config prometheus/prometheus.yml', (ctx) => {
    requireTool(ctx, promtool !== undefined, INSTALL_PROMTOOL);
    const r = run('promtool', ['check', 'config', 'prometheus/prometheus.yml']);
    expect(r.code, r.output).toBe(0);
  });

  it('promtool check rules prometheus/rules/*.yml', (ctx) => {
    requireTool(ctx, promtool !== undefined, INSTALL_PROMTOOL);
    const r = run('promtool', ['check', 'rules', ...ruleFiles.map((f) => `prometheus/rules/${f}`)]);
    expect(r.code, r.output).toBe(0);
  });

  it('promtool test rules prometheus/tests/*.yml', (ctx) => {
    requireTool(ctx, promtool !== undefined, INSTALL_PROMTOOL);
    const r = run('promtool', ['test', 'rules', ...testFiles.map((f) => `prometheus/tests/${f}`)]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS');
  });
});

describe('dashboard queries parse in a real Prometheus', () => {
  const prometheus = which('prometheus');
  let child: import('node:child_process').ChildProcess | undefined;
  let dataDir = '';

  afterAll(() => {
    child?.kill('SIGTERM');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('every dashboard query and variable query is accepted by /api/v1/query', { timeout: 60_000 }, async (ctx) => {
    requireTool(ctx, prometheus !== undefined, INSTALL_PROMTOOL.replace('promtool', 'prometheus'));
    dataDir = mkdtempSync(join(tmpdir(), 'otel-inference-prom-'));
    const port = await freePort();
    writeFileSync(join(dataDir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\n');
    child = spawn(
      prometheus as string,
      [`--config.file=${join(dataDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dataDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/-/ready`)).ok) break;
      } catch {
        // starting
      }
      if (Date.now() > deadline) throw new Error('prometheus did not become ready in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const dash = JSON.parse(read('grafana', 'dashboards', 'inference-overview.json')) as {
      panels: Array<{ title?: string; targets?: Array<{ expr?: string }> }>;
      templating: { list: Array<{ name: string; query?: unknown }> };
    };
    const substitute = (e: string) =>
      e.replace(/\$__rate_interval/g, '1m').replace(/\$__range/g, '1h').replace(/\$\{?[a-z]+\}?/g, '.*');
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ what: p.title ?? '', expr: t.expr ?? '' })));
    // label_values(selector, label) -> the selector must parse as a query
    for (const v of dash.templating.list) {
      const m = /^label_values\((.*),\s*[a-z_]+\)$/.exec(String(v.query));
      if (m) exprs.push({ what: `variable ${v.name}`, expr: `count(${m[1]})` });
    }
    expect(exprs.length).toBeGreaterThan(30);
    for (const { what, expr } of exprs) {
      const res = await fetch(`${base}/api/v1/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query: substitute(expr) }),
      });
      const body = (await res.json()) as { status: string; error?: string };
      expect(body.status, `${what}: ${body.error ?? ''}\n${substitute(expr)}`).toBe('success');
    }
  });
});

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as import('node:net').AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
