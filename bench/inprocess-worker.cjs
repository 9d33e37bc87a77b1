// Every mode side by side in one process: the real openai client (v6, CJS), one copy per mode
// (U uninstrumented, O with otel-inference on the aggregator as register wires it, O on the API
// instruments, O on a no-op SDK, P with @opentelemetry/instrumentation-openai), run in short
// interleaved batches (the order rotating each round), so that the load of a shared machine
// falls on every mode alike. Against the simulated server (a base URL), or over an in-memory
// fetch that answers at once with the bytes that server sends (`memory`: no network, no
// server, only the client's CPU). Prints per-mode wall and CPU µs per call, one entry per batch.
//
//   node bench/inprocess-worker.cjs <memory|baseURL> <stream|call> <rounds> <batch> [x-sim JSON]
const path = require('node:path');
const { metrics, createNoopMeter } = require('@opentelemetry/api');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');

const [target = 'memory', kind = 'stream', roundsArg = '40', batchArg = '50', simArg = '{"chunks":20}'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const batch = Number(batchArg);
const CHUNKS = 20;

class Reader extends MetricReader {
  async onShutdown() {}
  async onForceFlush() {}
}

const openaiV6 = require.resolve('openai', { paths: [path.join(__dirname, '../test/fixtures/openai-v6-app')] });
const openaiDir = `${openaiV6.slice(0, openaiV6.lastIndexOf(`${path.sep}node_modules${path.sep}openai${path.sep}`))}${path.sep}node_modules${path.sep}openai${path.sep}`;
const libraryPath = require.resolve('../packages/instrumentation/dist/index.cjs');

/** A fresh copy of a module and everything it loaded from its package: one per mode. */
function freshRequire(resolved, dir) {
  for (const key of Object.keys(require.cache)) if (key.startsWith(dir)) delete require.cache[key];
  return require(resolved);
}
const freshOpenAI = () => freshRequire(openaiV6, openaiDir).OpenAI;
const freshLibrary = () => freshRequire(libraryPath, path.dirname(libraryPath));

// What the simulated server sends for a streamed chat completion of CHUNKS content chunks with
// usage, one network read per event.
const encoder = new TextEncoder();
const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'llama-3.1-8b', system_fingerprint: 'fp_sim' };
const choice = (delta, finish = null) => [{ index: 0, delta, logprobs: null, finish_reason: finish }];
const usage = { prompt_tokens: 7, completion_tokens: CHUNKS, total_tokens: 7 + CHUNKS };
const events = [
  { ...base, choices: choice({ role: 'assistant', content: '' }), usage: null },
  ...Array.from({ length: CHUNKS }, (_, i) => ({ ...base, choices: choice({ content: `tok${i} ` }), usage: null })),
  { ...base, choices: choice({}, 'stop'), usage: null },
  { ...base, choices: [], usage },
].map((e) => encoder.encode(`data: ${JSON.stringify(e)}\n\n`));
events.push(encoder.encode('data: [DONE]\n\n'));
const completion = encoder.encode(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1,
    model: 'llama-3.1-8b',
    choices: [{ index: 0, message: { role: 'assistant', content: 'tok '.repeat(CHUNKS), refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage,
  }),
);

async function fetch(_url, init) {
  const body = JSON.parse(init.body);
  if (body.stream) {
    let i = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (i < events.length) controller.enqueue(events[i++]);
        else controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }
  return new Response(completion, { status: 200, headers: { 'content-type': 'application/json' } });
}

const client = (OpenAI) =>
  target === 'memory'
    ? new OpenAI({ apiKey: 'bench', baseURL: 'http://127.0.0.1:8000/v1', maxRetries: 0, fetch })
    : new OpenAI({ apiKey: 'bench', baseURL: target, maxRetries: 0, defaultHeaders: { 'x-sim': simArg } });

// P records into the global provider; the API-instrument mode into a provider of its own.
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new Reader()] }));

const modes = {};
modes.uninstrumented = client(freshOpenAI());
{
  const lib = freshLibrary();
  const aggregator = lib.createInferenceAggregator();
  const producer = aggregator.createProducer();
  const reader = new Reader({ metricProducers: [producer] });
  producer.setReader(reader);
  const provider = new MeterProvider({ readers: [reader] });
  if (!aggregator.bind(provider)) throw new Error('the aggregator did not bind');
  const OpenAI = freshOpenAI();
  lib.instrumentOpenAI(OpenAI, { streamUsage: 'always', metrics: lib.createInferenceMetrics({ meterProvider: provider }) });
  modes['otel-inference'] = client(OpenAI);
}
{
  const lib = freshLibrary();
  const OpenAI = freshOpenAI();
  lib.instrumentOpenAI(OpenAI, { streamUsage: 'always', metrics: lib.createInferenceMetrics({ meterProvider: new MeterProvider({ readers: [new Reader()] }) }) });
  modes['otel-inference-api'] = client(OpenAI);
}
{
  const lib = freshLibrary();
  const OpenAI = freshOpenAI();
  const meter = createNoopMeter();
  lib.instrumentOpenAI(OpenAI, { streamUsage: 'always', metrics: lib.createInferenceMetrics({ meterProvider: { getMeter: () => meter } }) });
  modes['otel-inference-noop-sdk'] = client(OpenAI);
}
{
  const { registerInstrumentations } = require('@opentelemetry/instrumentation');
  const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
  registerInstrumentations({ instrumentations: [new OpenAIInstrumentation()] });
  const OpenAI = freshOpenAI();
  if (OpenAI.Chat.Completions.prototype.create.__wrapped !== true) throw new Error('instrumentation-openai did not patch its copy');
  modes['instrumentation-openai'] = client(OpenAI);
}

const body = { model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] };
const streamBody = { ...body, stream: true, stream_options: { include_usage: true } };

// Warm-up calls get an answer at once, whatever the scenario: only the JIT needs them.
const fast = { headers: { 'x-sim': JSON.stringify({ ...JSON.parse(simArg), ttftMs: 0, chunkMs: 0 }) } };

async function one(c, options) {
  if (kind === 'stream') {
    for await (const _ of await c.chat.completions.create(streamBody, options));
  } else {
    await c.chat.completions.create(body, options);
  }
}

(async () => {
  // BENCH_MODES=a,b: only these modes (for profiling one of them).
  const names = Object.keys(modes).filter((name) => process.env.BENCH_MODES === undefined || process.env.BENCH_MODES.split(',').includes(name));
  // Warm-up: every mode, interleaved, until the JIT has settled.
  for (let r = 0; r < 10; r++) for (const name of names) for (let i = 0; i < 100; i++) await one(modes[name], fast);
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const cpu = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      const start = performance.now();
      const before = process.cpuUsage();
      for (let i = 0; i < batch; i++) await one(modes[name]);
      const used = process.cpuUsage(before);
      wall[name].push(((performance.now() - start) * 1000) / batch);
      cpu[name].push((used.user + used.system) / batch);
    }
  }
  process.stdout.write(JSON.stringify({ wall, cpu }));
})();
