// The cost of a /v1/stats document for 50 models, both sides: a MeterProvider as register builds
// it (the aggregator for the client side, the API instruments under the semconv server names),
// 50 models with series of every outcome; then, from one collection, what the library computes per
// read: the snapshot and the document (lifetime, and the window against the snapshot of an earlier
// read), judged; its JSON text, the SDK's collection, and for scale the /metrics text of the same
// collection, printed. CPU time (process.cpuUsage), median of interleaved rounds.
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  ATTR,
  METER_NAME,
  OUTCOME,
  SERVER_INSTRUMENT,
  buildStats,
  createInferenceAggregator,
  createInferenceMetrics,
  readStatsSnapshot,
  statsToJson,
} from '../packages/instrumentation/dist/index.js';
import { median } from './lib.mjs';

/** The target of the serving-side issue: computing the document for 50 models. */
export const STATS_TARGET_MS = 1;
const MODELS = 50;

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

function setup() {
  const aggregator = createInferenceAggregator();
  const producer = aggregator.createProducer();
  const reader = new Reader({ metricProducers: [producer] });
  producer.setReader(reader);
  const provider = new MeterProvider({ readers: [reader] });
  if (!aggregator.bind(provider)) throw new Error('the aggregator did not bind');
  const metrics = createInferenceMetrics({ meterProvider: provider });
  const meter = provider.getMeter(METER_NAME);
  const histogram = (spec) => meter.createHistogram(spec.name, { unit: spec.unit, advice: { explicitBucketBoundaries: [...spec.buckets] } });
  const server = {
    duration: histogram(SERVER_INSTRUMENT.requestDuration),
    ttft: histogram(SERVER_INSTRUMENT.timeToFirstToken),
    tpot: histogram(SERVER_INSTRUMENT.timePerOutputToken),
    queue: histogram(SERVER_INSTRUMENT.queueDuration),
    rate: histogram(SERVER_INSTRUMENT.outputTokenRate),
    requests: meter.createCounter(SERVER_INSTRUMENT.requests.name),
    tokens: meter.createCounter(SERVER_INSTRUMENT.tokens.name),
    active: meter.createUpDownCounter(SERVER_INSTRUMENT.activeRequests.name),
  };
  return { reader, provider, metrics, server };
}

/** A round of traffic: per model, streams and single responses of every outcome, served and made. */
function traffic({ metrics, server }, round) {
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

      const attributes = { [ATTR.requestModel]: model, [ATTR.operationName]: 'chat' };
      const failed = i === 5;
      const outcome = failed ? { [ATTR.outcome]: OUTCOME.error, [ATTR.errorType]: '500' } : { [ATTR.outcome]: OUTCOME.success };
      server.requests.add(1, { ...attributes, ...outcome });
      server.duration.record(0.05 + 3 * random(), { ...attributes, ...outcome });
      if (failed) continue;
      server.ttft.record(0.5 * random(), attributes);
      server.tpot.record(0.1 * random(), attributes);
      server.queue.record(0.2 * random(), attributes);
      server.rate.record(5 + 200 * random(), attributes);
      server.tokens.add(20 + i, { ...attributes, [ATTR.tokenType]: 'input' });
      server.tokens.add(4, { ...attributes, [ATTR.tokenType]: 'output' });
    }
    server.active.add(1, { [ATTR.requestModel]: model });
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
