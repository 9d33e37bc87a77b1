// node --expose-gc bench/alternatives.mjs: the designs weighed for the hot path, side by side in
// one run. Each part isolates one choice; the numbers are in docs/benchmark.md.
//
//   A. resolving a request's series: the SDK's attribute hash per record, per attribute set and
//      request, a key string per request, or map lookups of the values themselves (chosen);
//   B. per output chunk: append to a growing array per request, store into a reused buffer
//      (chosen), or add into a bucket array per chunk;
//   C. the bucket of a value: the SDK's binary search or a linear scan (chosen);
//   D. readers: what each more reader costs the aggregator per request (one accumulation each).
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createInferenceAggregator, createInferenceMetrics, DURATION_BUCKETS, TOKEN_BUCKETS } from '../packages/instrumentation/dist/index.js';
import { compare, fmt } from './lib.mjs';

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const quick = process.argv.includes('--quick');
const OPS = quick ? 50_000 : 500_000;

const clock = performance;

// A. Resolving series. A request records 5 attribute sets (base for active ±1; with the outcome
// for requests and duration; the end attributes for TTFT, gaps and tokens/s; with the token type
// twice); the SDK hashes one per record: 8 + one per gap.
const base = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'vllm',
  'gen_ai.request.stream': true,
  'gen_ai.request.model': 'llama-3.1-8b',
  'server.address': '127.0.0.1',
  'server.port': 8000,
};
/** sdk-metrics' hashAttributes (utils.ts), as it runs for every record. */
function hashAttributes(attributes) {
  let keys = Object.keys(attributes);
  if (keys.length === 0) return '';
  keys = keys.sort();
  return JSON.stringify(keys.map((key) => [key, attributes[key]]));
}
const sdkMap = new Map();
function sdkResolve(attributes) {
  const hash = hashAttributes(attributes);
  let v = sdkMap.get(hash);
  if (v === undefined) sdkMap.set(hash, (v = {}));
  return v;
}
const part = (v) => (typeof v === 'string' ? `${v.length}:${v}` : typeof v === 'number' ? `#${v};` : typeof v === 'boolean' ? (v ? 'T' : 'F') : '-');
const keyMap = new Map();
function keyResolve(b) {
  const key = part(b['gen_ai.operation.name']) + part(b['gen_ai.provider.name']) + part(b['gen_ai.request.stream']) + part(b['gen_ai.request.model']) + part(b['server.address']) + part(b['server.port']);
  let v = keyMap.get(key);
  if (v === undefined) keyMap.set(key, (v = { ends: new Map() }));
  return v;
}
const trie = new Map();
const child = (level, key) => {
  let next = level.get(key);
  if (next === undefined) level.set(key, (next = new Map()));
  return next;
};
function trieResolve(b) {
  const level = child(child(child(child(child(trie, b['gen_ai.operation.name']), b['gen_ai.provider.name']), b['gen_ai.request.stream']), b['gen_ai.request.model']), b['server.address']);
  let v = level.get(b['server.port']);
  if (v === undefined) level.set(b['server.port'], (v = { ends: new Map() }));
  return v;
}
const endOf = (entry, model) => {
  let e = entry.ends.get(model);
  if (e === undefined) entry.ends.set(model, (e = {}));
  return e;
};
// A request's base attributes are a new object each time (as metrics.ts builds them), and the
// response model a new string (as parsed from each response).
const newBase = () => ({ ...base });
const responseModel = () => JSON.parse('"llama-3.1-8b"');
const GAPS = 19;
const partA = await compare(
  {
    'SDK: hash per record (8 + 19 gaps)': (n) => {
      for (let i = 0; i < n; i++) {
        const b = newBase();
        const end = { ...b, 'gen_ai.response.model': responseModel() };
        const withOutcome = { ...end, 'inference.outcome': 'success' };
        sdkResolve(b);
        sdkResolve(b);
        sdkResolve(withOutcome);
        sdkResolve(withOutcome);
        sdkResolve(end);
        for (let g = 0; g < GAPS; g++) sdkResolve(end);
        sdkResolve({ ...end, 'gen_ai.token.type': 'input' });
        sdkResolve({ ...end, 'gen_ai.token.type': 'output' });
        sdkResolve(end);
      }
    },
    'SDK hash once per attribute set (5)': (n) => {
      for (let i = 0; i < n; i++) {
        const b = newBase();
        const end = { ...b, 'gen_ai.response.model': responseModel() };
        sdkResolve(b);
        sdkResolve({ ...end, 'inference.outcome': 'success' });
        sdkResolve(end);
        sdkResolve({ ...end, 'gen_ai.token.type': 'input' });
        sdkResolve({ ...end, 'gen_ai.token.type': 'output' });
      }
    },
    'a key string per request': (n) => {
      for (let i = 0; i < n; i++) endOf(keyResolve(newBase()), responseModel());
    },
    'map lookups of the values (chosen)': (n) => {
      for (let i = 0; i < n; i++) endOf(trieResolve(newBase()), responseModel());
    },
  },
  { ops: OPS / 5 },
);

// B. Per output chunk, a clock read each, then the end of the request aggregates the gaps (the
// same for the first two; the third has done it already, but its sums are not the SDK's: a
// request's gaps summed apart, then added, round differently from one add per gap).
const BOUNDS = DURATION_BUCKETS;
const series = { count: 0, sum: 0, min: Infinity, max: -Infinity, counts: new Array(BOUNDS.length + 1).fill(0) };
function aggregate(gaps, count) {
  let { sum, min, max } = series;
  for (let i = 0; i < count; i++) {
    const v = gaps[i] / 1000;
    sum += v;
    min = Math.min(v, min);
    max = Math.max(v, max);
    let b = 0;
    while (b < BOUNDS.length && BOUNDS[b] < v) b++;
    series.counts[b] += 1;
  }
  series.count += count;
  series.sum = sum;
  series.min = min;
  series.max = max;
}
const pool = [];
const chunkVariants = (chunks) => ({
  'growing array per request': (n) => {
    for (let s = 0; s < n / chunks; s++) {
      const gaps = [];
      let last = clock.now();
      for (let c = 1; c < chunks; c++) {
        const now = clock.now();
        gaps.push(now - last);
        last = now;
      }
      aggregate(gaps, gaps.length);
    }
  },
  'reused buffer (chosen)': (n) => {
    for (let s = 0; s < n / chunks; s++) {
      let gaps = pool.pop() ?? new Float64Array(64);
      let last = clock.now();
      for (let c = 1; c < chunks; c++) {
        const now = clock.now();
        if (c > gaps.length) {
          const grown = new Float64Array(gaps.length * 4);
          grown.set(gaps);
          gaps = grown;
        }
        gaps[c - 1] = now - last;
        last = now;
      }
      aggregate(gaps, chunks - 1);
      if (gaps.length <= 4096 && pool.length < 16) pool.push(gaps);
    }
  },
  'bucket add per chunk': (n) => {
    for (let s = 0; s < n / chunks; s++) {
      const local = { sum: 0, min: Infinity, max: -Infinity, counts: new Array(BOUNDS.length + 1).fill(0) };
      let last = clock.now();
      for (let c = 1; c < chunks; c++) {
        const now = clock.now();
        const v = (now - last) / 1000;
        local.sum += v;
        local.min = Math.min(v, local.min);
        local.max = Math.max(v, local.max);
        let b = 0;
        while (b < BOUNDS.length && BOUNDS[b] < v) b++;
        local.counts[b] += 1;
        last = now;
      }
      series.count += chunks - 1;
      series.sum += local.sum;
      for (let b = 0; b < local.counts.length; b++) series.counts[b] += local.counts[b];
    }
  },
  'the clock read alone': (n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) sink += clock.now();
    series.max = Math.max(series.max, sink);
  },
});
const partB20 = await compare(chunkVariants(20), { ops: OPS * 2 });
const partB1000 = await compare(chunkVariants(1000), { ops: OPS * 2 });

// C. Bucket search for typical values: a 20 ms gap, a 1.3 s duration, 300 tokens.
/** sdk-metrics' binarySearchUB. */
function binarySearchUB(arr, value) {
  let lo = 0;
  let hi = arr.length - 1;
  let ret = arr.length;
  while (hi >= lo) {
    const mid = lo + Math.trunc((hi - lo) / 2);
    if (arr[mid] < value) lo = mid + 1;
    else {
      ret = mid;
      hi = mid - 1;
    }
  }
  return ret;
}
function linear(arr, value) {
  let i = 0;
  while (i < arr.length && arr[i] < value) i++;
  return i;
}
const values = [0.02, 0.021, 1.3, 0.018];
const tokens = [300, 50, 20, 1500];
let bucketSink = 0;
const partC = await compare(
  {
    'binary search (SDK)': (n) => {
      for (let i = 0; i < n; i++) bucketSink += binarySearchUB(DURATION_BUCKETS, values[i & 3]) + binarySearchUB(TOKEN_BUCKETS, tokens[i & 3]);
    },
    'linear scan (chosen)': (n) => {
      for (let i = 0; i < n; i++) bucketSink += linear(DURATION_BUCKETS, values[i & 3]) + linear(TOKEN_BUCKETS, tokens[i & 3]);
    },
  },
  { ops: OPS * 4 },
);

// D. The aggregator per streamed request (20 output chunks) with 1, 2 and 3 readers.
class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}
function withReaders(count) {
  const aggregator = createInferenceAggregator();
  const readers = Array.from({ length: count }, () => {
    const producer = aggregator.createProducer();
    const reader = new Reader({ metricProducers: [producer] });
    producer.setReader(reader);
    return reader;
  });
  const provider = new MeterProvider({ readers });
  aggregator.bind(provider);
  return createInferenceMetrics({ meterProvider: provider });
}
const request = { provider: 'vllm', model: 'llama-3.1-8b', serverAddress: '127.0.0.1', serverPort: 8000 };
const ended = { usage: { inputTokens: 20, outputTokens: 50 }, responseModel: 'llama-3.1-8b' };
const partD = await compare(
  Object.fromEntries(
    [1, 2, 3].map((count) => {
      const m = withReaders(count);
      return [
        `${count} reader${count > 1 ? 's' : ''}`,
        (n) => {
          for (let i = 0; i < n; i++) {
            const t = m.startRequest(request, { stream: true });
            for (let c = 0; c < 20; c++) t.output();
            t.end(ended);
          }
        },
      ];
    }),
  ),
  { ops: OPS / 5 },
);

const print = (title, results, unit) => {
  console.log(`\n## ${title}`);
  for (const [name, ns] of Object.entries(results)) console.log(`  ${name.padEnd(40)} ${fmt(ns).padStart(10)} ${unit}`);
};
console.log(`# bench/alternatives.mjs: Node ${process.version}${quick ? ', quick pass' : ''}`);
print('A. Resolving the series of a request (5 attribute sets, 19 gaps)', partA, 'per request');
print('B. Per output chunk, a clock read included (streams of 20 chunks)', partB20, 'per chunk');
print('B. Per output chunk, a clock read included (streams of 1000 chunks)', partB1000, 'per chunk');
print('C. The bucket of a value (one duration and one token count)', partC, 'per pair');
print('D. The aggregator, a streamed request of 20 chunks, start to end', partD, 'per request');
if (bucketSink < 0) console.log(bucketSink);
