// One benchmark worker: N sequential calls of the real openai client (CJS) against the local
// server, uninstrumented, with otel-inference, or with @opentelemetry/instrumentation-openai.
// Every instrumented mode records into the same kind of MeterProvider (one pull reader).
const { performance } = require('node:perf_hooks');
const { metrics } = require('@opentelemetry/api');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');

const [mode, baseURL, callsArg, kind, warmupArg, simArg] = process.argv.slice(2);
const calls = Number(callsArg);
// The client and server keep getting faster for ~2000 calls (JIT): measure after that.
const warmup = Number(warmupArg);

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

const library = () => require('../packages/instrumentation/dist/index.cjs');

/**
 * The MeterProvider of each mode. `otel-inference` is wired as otel-inference/register wires
 * its own provider: the library's aggregator, handed to the reader by a MetricProducer.
 * `otel-inference-api` records through the API instruments, as into an app's own provider.
 */
function meterProvider() {
  if (mode !== 'otel-inference') return new MeterProvider({ readers: [new Reader()] });
  const aggregator = library().createInferenceAggregator();
  const producer = aggregator.createProducer();
  const reader = new Reader({ metricProducers: [producer] });
  producer.setReader(reader);
  const provider = new MeterProvider({ readers: [reader] });
  if (!aggregator.bind(provider)) throw new Error('the aggregator did not bind');
  return provider;
}
metrics.setGlobalMeterProvider(meterProvider());

if (mode === 'instrumentation-openai') {
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
  registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
}
// openai v6 for every mode: @opentelemetry/instrumentation-openai 0.22 patches openai < 7 only,
// so with v7 its column would measure an unpatched client. The v6 copy is installed under the
// name `openai` in the fixture workspace (the require hooks match on that name).
const openaiV6 = require.resolve('openai', { paths: [require('node:path').join(__dirname, '../test/fixtures/openai-v6-app')] });
const { OpenAI } = require(openaiV6);
if (mode === 'otel-inference' || mode === 'otel-inference-api') {
  library().instrumentOpenAI(OpenAI, { streamUsage: 'always' });
}
if (mode === 'otel-inference-noop-sdk') {
  // Our openai path with record calls that do nothing: what otel-inference costs by itself.
  const { instrumentOpenAI, createInferenceMetrics } = library();
  const meter = require('@opentelemetry/api').createNoopMeter();
  instrumentOpenAI(OpenAI, { streamUsage: 'always', metrics: createInferenceMetrics({ meterProvider: { getMeter: () => meter } }) });
}

// The server's behaviour for every call (the x-sim header of the simulated server, sim/).
const client = new OpenAI({ apiKey: 'bench', baseURL, maxRetries: 0, defaultHeaders: { 'x-sim': simArg } });
const body = { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] };
const streamBody = { ...body, stream: true, stream_options: { include_usage: true } };

// Warm-up calls get an answer at once, whatever the scenario: only the JIT needs them.
const fast = { headers: { 'x-sim': JSON.stringify({ ...JSON.parse(simArg), ttftMs: 0, chunkMs: 0 }) } };

async function one(options) {
  if (kind === 'stream') {
    for await (const _ of await client.chat.completions.create(streamBody, options));
  } else {
    await client.chat.completions.create(body, options);
  }
}

(async () => {
  for (let i = 0; i < warmup; i++) await one(fast);
  const start = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < calls; i++) await one();
  const usPerCall = ((performance.now() - start) * 1000) / calls;
  const used = process.cpuUsage(cpu);
  // CPU time of this (client) process: what the instrumentation itself costs, free of the
  // scheduling noise that wall time picks up on a small machine.
  const cpuUsPerCall = (used.user + used.system) / calls;
  process.stdout.write(JSON.stringify({ usPerCall, cpuUsPerCall }));
})();
