// One gateway of the gateway benchmark: a node:http server that proxies streamed chat completions
// to a backend with the real openai client and relays them as SSE, as an inference gateway does.
//
//   node bench/gateway-worker.mjs <mode> <backend base URL>
//
// One process serves every mode, switched between rounds by POST /mode?m=<mode>, so that each
// mode runs on the same JIT state, heap and sockets (separate processes differ by more than the
// cost measured): `bare` (uninstrumented), `otel-inference` (what otel-inference/register sets up
// for a gateway: the aggregator bound to a MeterProvider for the client side, the openai
// instrumentation and the zero-code server instrumentation, enabled; disabled in the other modes)
// and `prom-client` (the same counts and histograms on both sides, recorded by hand with
// prom-client: what such a gateway would use instead). It prints its port; GET /cpu answers the
// process's CPU time so the driver can charge each round to the gateway alone.
import { createServer } from 'node:http';
import { metrics } from '@opentelemetry/api';
import OpenAI from 'openai';
import { InferenceServerInstrumentation, instrumentOpenAI } from '../packages/instrumentation/dist/index.js';
import { registerLikeProvider } from './lib.mjs';

const [backendURL] = process.argv.slice(2);
const client = new OpenAI({ apiKey: 'bench', baseURL: backendURL, maxRetries: 0 });

const { provider, reader } = registerLikeProvider();
metrics.setGlobalMeterProvider(provider);
const serverSide = new InferenceServerInstrumentation({ enabled: false });
serverSide.setMeterProvider(provider);
let undoOpenAI;

let mode = 'bare';
function setMode(next) {
  if (next === mode) return;
  if (mode === 'otel-inference') {
    serverSide.disable();
    undoOpenAI();
  }
  if (next === 'otel-inference') {
    serverSide.enable();
    undoOpenAI = instrumentOpenAI(OpenAI, { streamUsage: 'always' });
  }
  mode = next;
}

/** prom-client by hand: the series otel-inference records, on both sides of the gateway. */
async function promClientRecorder() {
  const prom = await import('prom-client');
  const registry = new prom.Registry();
  const labels = ['operation', 'model'];
  const seconds = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
  const side = (prefix) => ({
    requests: new prom.Counter({ name: `${prefix}_requests_total`, help: 'requests', labelNames: [...labels, 'outcome'], registers: [registry] }),
    active: new prom.Gauge({ name: `${prefix}_requests_active`, help: 'active', labelNames: labels, registers: [registry] }),
    duration: new prom.Histogram({ name: `${prefix}_duration_seconds`, help: 'duration', labelNames: [...labels, 'outcome'], buckets: seconds, registers: [registry] }),
    ttft: new prom.Histogram({ name: `${prefix}_ttft_seconds`, help: 'ttft', labelNames: labels, buckets: seconds, registers: [registry] }),
    perToken: new prom.Histogram({ name: `${prefix}_time_per_output_token_seconds`, help: 'tpot', labelNames: labels, buckets: seconds, registers: [registry] }),
    tokens: new prom.Counter({ name: `${prefix}_tokens_total`, help: 'tokens', labelNames: [...labels, 'type'], registers: [registry] }),
  });
  const sides = { server: side('gateway_server'), client: side('gateway_client') };
  return (sideName, model) => {
    const s = sides[sideName];
    const l = { operation: 'chat', model };
    const start = performance.now();
    let first;
    s.active.inc(l);
    return {
      output() {
        if (first === undefined) {
          first = performance.now();
          s.ttft.observe(l, (first - start) / 1000);
        }
      },
      end(outcome, usage) {
        const end = performance.now();
        s.active.dec(l);
        s.requests.inc({ ...l, outcome });
        s.duration.observe({ ...l, outcome }, (end - start) / 1000);
        if (usage) {
          s.tokens.inc({ ...l, type: 'input' }, usage.prompt_tokens);
          s.tokens.inc({ ...l, type: 'output' }, usage.completion_tokens);
          if (first !== undefined && usage.completion_tokens > 1) {
            s.perToken.observe(l, (end - first) / 1000 / (usage.completion_tokens - 1));
          }
        }
      },
    };
  };
}

const promClient = await promClientRecorder();

async function readBody(req) {
  const parts = [];
  for await (const part of req) parts.push(part);
  return JSON.parse(Buffer.concat(parts).toString('utf8'));
}

async function proxy(req, res) {
  const body = await readBody(req);
  const track = mode === 'prom-client' ? promClient : undefined;
  const served = track?.('server', body.model);
  const upstream = track?.('client', body.model);
  let usage;
  try {
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for await (const chunk of stream) {
      const output = chunk.choices?.[0]?.delta?.content;
      if (output) {
        upstream?.output();
        served?.output();
      }
      if (chunk.usage) usage = chunk.usage;
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
    upstream?.end('success', usage);
    served?.end('success', usage);
  } catch (error) {
    upstream?.end('error');
    served?.end('error');
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: String(error?.message ?? error) } }));
  }
}

const server = createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/mode?m=')) {
    setMode(decodeURIComponent(req.url.slice('/mode?m='.length)));
    res.end(mode);
    return;
  }
  if (req.method === 'GET' && req.url === '/collect') {
    // The SDK's collection: what an export or a scrape costs the gateway (and a check that it records).
    reader.collect().then(({ resourceMetrics, errors }) => {
      const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
      res.end(JSON.stringify({ names, errors: errors.length }));
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/cpu') {
    const { user, system } = process.cpuUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ cpuUs: user + system }));
    return;
  }
  proxy(req, res).catch(() => res.destroy());
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => process.exit(0));
