/** The Prometheus text exposition, parsed: samples and types, sums and buckets over label matches. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function matches(s: Sample, match: Record<string, string>): boolean {
  return Object.entries(match).every(([k, v]) => s.labels[k] === v);
}

/** The sum of the samples of `name` whose labels include `match`, added in exposition order. */
export function sumOf(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) if (s.name === name && matches(s, match)) total += s.value;
  return total;
}

/** Per-bucket counts (the OTel shape) of one histogram from its cumulative `_bucket` series, summed over the matching series. */
export function bucketsOf(samples: Sample[], name: string, match: Record<string, string> = {}): { boundaries: number[]; counts: number[]; cumulative: number[] } {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !matches(s, match)) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const cumulative = les.map((le) => byLe.get(le)!);
  return {
    boundaries: les.filter((le) => le !== Infinity),
    counts: cumulative.map((c, i) => c - (i > 0 ? cumulative[i - 1]! : 0)),
    cumulative,
  };
}
