// The cost of a /v1/stats document for 50 models, both sides: a MeterProvider as register builds
// it (the aggregator for the client side, startServerRequest's API instruments for the served one),
// 50 models with series of every outcome; then, from one collection, what the library computes per
// read: the snapshot and the document (lifetime, and the window against the snapshot of an earlier
// read), judged; its JSON text, the SDK's collection, and for scale the /metrics text of the same
// collection, printed. CPU time (process.cpuUsage), median of interleaved rounds.
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import {
  buildStats,
  createInferenceMetrics,
  readStatsSnapshot,
  startServerRequest,
  statsToJson,
} from '../packages/instrumentation/dist/index.js';
import { median, registerLikeProvider } from './lib.mjs';

/** The target of the serving-side issue: computing the document for 50 models. */
export const STATS_TARGET_MS = 1;
const MODELS = 50;

function setup() {
  const { provider, reader } = registerLikeProvider();
  const metrics = createInferenceMetrics({ meterProvider: provider });
  return { reader, provider, metrics };
}

/** A round of traffic: per model, streams and single responses of every outcome, served and made. */
function traffic({ metrics, provider }, round) {
  let seed = round + 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let m = 0; m < MODELS; m++) {
    const model = `model-${String(m).padStart(2, '0')}`;
    for (let i = 0; i < 12; i++) {
      const t = metrics.startRequest({ provider: 'vllm', model, serverAddress: '10.0.0.1', serverPort: 8000 }, { stream: i % 3 !== 0 });
      for (let c = 0; c < 4; c++) t.output();
      if (i === 5) t.fail(Object.assign(new Error('upstream'), { status: 500 }));
      else if (i === 7) t.fail(Object.assign(new Error('rate limited'), { status: 429 }));
      else if (i === 9) t.cancel();
      else t.end({ usage: { inputTokens: 20 + i, outputTokens: 4 }, responseModel: model });

      // The same request as served: queued, admitted, first token, tokens, the end; it arrived
      // up to 3 s ago, so that its durations spread over the buckets as a real server's do.
      const startTime = performance.now() - 3000 * random();
      const served = startServerRequest({ meterProvider: provider, requestModel: model, provider: 'vllm', stream: i % 3 !== 0, queued: true, startTime });
      served.admitted();
      served.firstToken();
      served.tokens(4);
      served.tokens(20 + i, 'input');
      if (i === 5) served.failWith(500);
      else if (i === 9) served.cancel();
      else served.end({ usage: { inputTokens: 20 + i, outputTokens: 4 } });
    }
    // One request still being served per model.
    startServerRequest({ meterProvider: provider, requestModel: model });
  }
}

/** CPU ms per call of each variant: median over interleaved rounds (load on a shared machine inflates wall time, CPU less). */
function cpuMedians(variants, { rounds, ops }) {
  const samples = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = -1; round < rounds; round++) {
    for (const [name, run] of Object.entries(variants)) {
      globalThis.gc?.();
      const start = process.cpuUsage();
      for (let i = 0; i < ops[name]; i++) run();
      const used = process.cpuUsage(start);
      if (round >= 0) samples[name].push((used.user + used.system) / 1000 / ops[name]);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, median(s)]));
}

export async function statsBench({ quick }) {
  const s = setup();
  traffic(s, 0);
  const before = await s.reader.collect();
  traffic(s, 1);
  const collected = await s.reader.collect();
  // A source keeps its base snapshot from an earlier read: one snapshot per read.
  const base = readStatsSnapshot(before, 0);
  const document = () => buildStats(readStatsSnapshot(collected, 60_000), { base, uptimeSeconds: 120, windowSeconds: 60 });
  const doc = document();
  if (doc.models.length !== MODELS || doc.models.some((m) => !m.client || !m.server)) throw new Error('the document does not hold 50 models with both sides');
  const serializer = new PrometheusSerializer();
  const ms = cpuMedians(
    {
      document,
      json: () => statsToJson(doc),
      // For scale: the /metrics text of the same collection (every bucket of every series).
      exposition: () => serializer.serialize(collected.resourceMetrics),
    },
    { rounds: quick ? 5 : 9, ops: { document: quick ? 50 : 200, json: quick ? 50 : 200, exposition: 1 } },
  );
  // The SDK's collection (the same as a /metrics scrape's): asynchronous, timed apart.
  const collectSamples = [];
  for (let i = 0; i < (quick ? 20 : 100); i++) {
    const start = process.cpuUsage();
    await s.reader.collect();
    const used = process.cpuUsage(start);
    collectSamples.push((used.user + used.system) / 1000);
  }
  const series = collected.resourceMetrics.scopeMetrics.reduce((n, sm) => n + sm.metrics.reduce((k, metric) => k + metric.dataPoints.length, 0), 0);
  await s.provider.shutdown();
  return {
    models: MODELS,
    series,
    documentMs: ms.document,
    jsonMs: ms.json,
    jsonBytes: statsToJson(doc).length,
    collectMs: median(collectSamples),
    expositionMs: ms.exposition,
    expositionBytes: serializer.serialize(collected.resourceMetrics).length,
  };
}
