/**
 * Static PromQL checks for the dashboard queries and the Prometheus rules. Not a parser:
 * a handful of text rules that the queries in this repo are written to satisfy.
 *
 * - counters / histogram series (_total, _bucket, _count, _sum) only inside rate() or
 *   increase() (or absent()); a gauge (an up-down counter, a GPU or host gauge) never inside rate();
 * - quantiles: histogram_quantile(q, sum by (le, ...) (rate(x_bucket[...])));
 * - heatmaps: sum by (le) (rate(x_bucket[...])), per second; never increase() over
 *   $__rate_interval (overlapping windows count each event several times);
 * - means: rate(x_sum) only divided by rate(x_count) (except THROUGHPUT_SUMS, where the
 *   rate of the sum is itself the answer, e.g. tokens per second);
 * - every division's right-hand side is a parenthesised `(... > 0)`;
 * - quantiles are never added, averaged or summed (a quantile compared to a constant may be
 *   filtered with `and` / `unless`, e.g. by a traffic floor).
 */

import { PROMETHEUS_METRIC, TABLE_METRICS } from '../../grafana/names.js';

/** Histograms whose rate(_sum) alone is a meaningful throughput (tokens per second). */
export const THROUGHPUT_SUMS: ReadonlySet<string> = new Set([PROMETHEUS_METRIC.tokenUsage.name]);

/** Every gauge of the names table (up-down counters, GPU and host gauges). */
export const GAUGES: ReadonlySet<string> = new Set(TABLE_METRICS.filter((m) => m.type === 'gauge').map((m) => m.name));

/** Blank out the contents of "..." strings (same length, so indices still match). */
export function stripStrings(expr: string): string {
  return expr.replace(/"(?:[^"\\]|\\.)*"/g, (m) => `"${' '.repeat(m.length - 2)}"`);
}

/** Index of the bracket closing the one opening at `open`, or -1. */
export function matchingClose(text: string, open: number): number {
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  const stack: string[] = [];
  for (let i = open; i < text.length; i++) {
    const c = text[i] as string;
    if (c in pairs) stack.push(pairs[c] as string);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

function balanced(text: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { '(': ')', '[': ']', '{': '}' };
  for (const c of text) {
    if (c in pairs) stack.push(pairs[c] as string);
    else if (c === ')' || c === ']' || c === '}') {
      if (stack.pop() !== c) return false;
    }
  }
  return stack.length === 0;
}

/** Metric names referenced by the expression (not label names, not functions). */
export function metricReferences(expr: string): Array<{ name: string; index: number }> {
  let text = stripStrings(expr);
  // blank out label matchers and grouping label lists so label names are not taken for metrics
  text = text.replace(/\{[^}]*\}/g, (m) => ' '.repeat(m.length));
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, (m) => ' '.repeat(m.length));
  const refs: Array<{ name: string; index: number }> = [];
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const name = m[0];
    const prev = text[m.index - 1];
    if (prev !== undefined && /[0-9.$]/.test(prev)) continue; // 0.95, 5m, $__rate_interval
    const after = text.slice(m.index + name.length).trimStart();
    if (after.startsWith('(')) continue; // function or aggregation
    if (/^(and|or|unless|bool|offset|by|without|on|ignoring|group_left|group_right|inf|nan)$/i.test(name)) continue;
    refs.push({ name, index: m.index });
  }
  return refs;
}

export function lintPromQL(expr: string): string[] {
  const problems: string[] = [];
  const text = stripStrings(expr);
  if (!balanced(text)) problems.push('unbalanced brackets');

  // 1. counters and histogram series only inside rate()/increase(); gauges never
  for (const { name, index } of metricReferences(expr)) {
    if (name.includes(':')) continue; // recording rule output
    const before = text.slice(0, index).replace(/\s+$/, '');
    if (/_(total|bucket|count|sum)$/.test(name)) {
      if (!/(rate|increase|absent|absent_over_time)\($/.test(before)) {
        problems.push(`${name} is used outside rate()/increase()`);
      }
    }
    if (GAUGES.has(name) && /(rate|increase|irate)\($/.test(before)) {
      problems.push(`${name} is a gauge: do not rate() it`);
    }
  }
  // {__name__=~"..._total"} style selectors must be inside rate() too
  for (const m of expr.matchAll(/\{__name__=~?"[^"]*"/g)) {
    const before = text.slice(0, m.index).replace(/\s+$/, '');
    if (!/(rate|increase|absent|absent_over_time)\($/.test(before)) problems.push(`${m[0]} selector used outside rate()`);
  }

  // 2. histogram_quantile shape
  for (const m of expr.matchAll(/histogram_quantile\(/g)) {
    const rest = expr.slice(m.index);
    const shape = /^histogram_quantile\(\s*(0(?:\.\d+)?|1(?:\.0+)?)\s*,\s*sum by \(([^)]*)\)\s*\(\s*rate\(\s*([a-zA-Z_][a-zA-Z0-9_]*)_bucket\s*[{[]/.exec(rest);
    if (!shape) {
      problems.push('histogram_quantile must be histogram_quantile(q, sum by (le, ...) (rate(x_bucket[...])))');
      continue;
    }
    const labels = (shape[2] ?? '').split(',').map((s) => s.trim());
    if (!labels.includes('le')) problems.push('histogram_quantile: sum by (...) must keep le');
  }
  for (const m of expr.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)_bucket\b/g)) {
    const selector = expr.slice(m.index, expr.indexOf('}', m.index) + 1);
    const before = text.slice(0, m.index).replace(/\s+$/, '');
    const feedsQuantile = expr.includes('histogram_quantile(');
    const heatmap = /sum by \(le\)\s*\(\s*(rate|increase)\($/.test(before);
    const sloRatio = /\ble="[^"]+"/.test(selector);
    if (!feedsQuantile && !heatmap && !sloRatio) {
      problems.push(`${m[0]}: a _bucket series must feed histogram_quantile, a heatmap (sum by (le) (rate(x_bucket[...]))) or an le="..." SLO ratio`);
    }
  }

  // 2b. increase() over $__rate_interval, evaluated every $__interval: the windows overlap, so
  // each event is counted $__rate_interval / $__interval times (a factor that changes with zoom)
  for (const m of text.matchAll(/\bincrease\(/g)) {
    const close = matchingClose(text, m.index + 'increase'.length);
    const inner = close < 0 ? '' : expr.slice(m.index, close + 1);
    if (/\[\s*\$\{?__rate_interval\}?\s*\]/.test(inner)) {
      problems.push('increase() over $__rate_interval counts each event $__rate_interval / $__interval times (the windows overlap): use rate(), per second');
    }
  }

  // 3. means: rate(x_sum) must be divided by rate(x_count)
  for (const m of expr.matchAll(/rate\(\s*([a-zA-Z_][a-zA-Z0-9_]*)_sum\b/g)) {
    const base = m[1] as string;
    if (THROUGHPUT_SUMS.has(base) && !expr.includes(`${base}_count`)) continue;
    const after = expr.slice(m.index);
    const div = after.indexOf('/');
    if (div < 0 || !after.slice(div).includes(`rate(${base}_count`)) {
      problems.push(`rate(${base}_sum) must be divided by rate(${base}_count) (a mean is sum/count)`);
    }
  }

  // 4. every division is by a parenthesised (x > 0)
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '/') continue;
    let j = i + 1;
    while (text[j] === ' ') j++;
    if (text[j] !== '(') {
      problems.push('division right-hand side must be a parenthesised (x > 0)');
      continue;
    }
    const close = matchingClose(text, j);
    const inner = text.slice(j + 1, close).trim();
    if (close < 0 || !/>\s*0$/.test(inner)) problems.push('division right-hand side must end with "> 0" so idle periods give no NaN');
  }

  // 5. never add / average / sum quantiles
  let reduced = text;
  for (;;) {
    const at = reduced.indexOf('histogram_quantile(');
    if (at < 0) break;
    const close = matchingClose(reduced, at + 'histogram_quantile'.length);
    if (close < 0) break;
    reduced = `${reduced.slice(0, at)}Q${reduced.slice(close + 1)}`;
  }
  reduced = reduced.replace(/[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+:p\d{2}_[a-z0-9]+(\{[^}]*\})?/g, 'Q');
  // `Q > c and on (...) traffic >= t` keeps or drops the quantile's samples; it combines no values.
  const alone = /^\s*Q\s*((>|<|>=|<=)\s*[0-9.]+)?\s*((and|unless)\s+((on|ignoring)\s*\([^)]*\)\s*)?[^Q]+)?$/;
  if (reduced.includes('Q') && !alone.test(reduced)) {
    problems.push('a quantile must stand alone (optionally compared to a constant): never add, average or sum quantiles');
  }
  return problems;
}
