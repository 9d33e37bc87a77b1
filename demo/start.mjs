// `npm start`: the otel-inference demo, with no collector, Docker or API key.
//
//   1. two simulated model servers (demo/backend.mjs), each a child process preloaded with
//      otel-inference/register and recording its served requests through the explicit server API
//      (queue, prefill, decode): `primary`, fast but failing part of the time (--fail-rate), and
//      `secondary`, slower (--latency-factor 2) and reliable;
//   2. the gateway (demo/gateway.mjs), a plain node:http server preloaded with
//      otel-inference/register, which forwards OpenAI-compatible requests to primary, and to
//      secondary when primary fails (withFallback), with the real `openai` client;
//   3. the load generator (demo/load.mjs) against the gateway, preloaded exactly like an app:
//        node --import otel-inference/register demo/load.mjs
//      with OTEL_INFERENCE_IN_PROCESS_READER=true for its live per-model summary (its own /v1/stats
//      document), which also shows the gateway's server and client TTFT, its backends and its
//      fallbacks (the gateway's /v1/stats, fetched from its endpoint, its window set to --window);
//   4. every process serves its own /metrics and /v1/stats (OTEL_METRICS_EXPORTER=prometheus: the load on
//      localhost:9464, the gateway on 9465, the backends on 9466 and 9467; a free port for one that
//      is taken) — or exports OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set;
//   5. stops by itself after --duration seconds (children stopped, exit code 0), or on Ctrl-C.
//
// Flags:
//   --duration <s>      how long to run (default 60)
//   --forever           run until Ctrl-C
//   --concurrency <n>   requests in flight (default 6)
//   --summary <s>       summary refresh interval, seconds (default 3)
//   --window <s>        the summary's sliding window, seconds (default 30)
//   --sim-port <port>   the gateway's port, the one the load talks to (default $SIM_PORT or 8000;
//                       a free one if busy; 0 = any free port). The backends take any free ports.
//   --fail-rate <p>     share of requests the primary backend answers 503 (default 0.2)
//   --seed <n>          seed of the backends' random latency and errors
//   --no-build          do not build the packages and sim/ even when a build is missing or older than
//                       its sources
//
// Environment: OTEL_* as for any app (OTEL_EXPORTER_PROMETHEUS_PORT/HOST: the load's endpoint, the
// others take the next ports; OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_ENDPOINT, ...);
// SIM_BASE_URL: put the gateway in front of that server (one backend, `upstream`) instead of the
// two simulated ones; SIM_HOST: the listen address of the gateway and backends (default 127.0.0.1).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS } from './profile.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOAD = path.join(REPO, 'demo', 'load.mjs');
const GATEWAY = path.join(REPO, 'demo', 'gateway.mjs');
const BACKEND = path.join(REPO, 'demo', 'backend.mjs');

function parseArgs(argv) {
  const o = {
    duration: 60,
    forever: false,
    concurrency: 6,
    summary: 3,
    window: 30,
    simPort: process.env.SIM_PORT ? Number(process.env.SIM_PORT) : undefined,
    failRate: 0.2,
    seed: undefined,
    build: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument ${argv[i]}`);
    const name = m[1];
    if (name === 'forever') { o.forever = true; continue; }
    if (name === 'no-build') { o.build = false; continue; }
    if (name === 'help') { o.help = true; continue; }
    const raw = m[2] ?? argv[++i];
    const value = Number(raw);
    if (raw === undefined || raw === '' || !Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number >= 0`);
    switch (name) {
      case 'duration': o.duration = value; break;
      case 'concurrency': o.concurrency = Math.max(1, Math.floor(value)); break;
      case 'summary': o.summary = value; break;
      case 'window': o.window = value; break;
      case 'sim-port': o.simPort = Math.floor(value); break;
      case 'seed': o.seed = Math.floor(value); break;
      case 'fail-rate':
        if (value > 1) throw new Error('--fail-rate needs a share from 0 to 1');
        o.failRate = value;
        break;
      default: throw new Error(`unknown flag --${name} (see the top of demo/start.mjs)`);
    }
  }
  if (o.duration === 0) o.forever = true;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Build the packages and sim/ when a build is missing or older than its sources

/** Newest modification time under dir, its dist/ (the build output) left out. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory() && entry.name === 'dist') continue;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Each build: its dist/ outputs, and the sources they come from (src/ of a package; sim/ keeps
 * its sources at its top, next to its tsup.config.ts).
 */
const PACKAGES = [
  { dir: 'packages/instrumentation', src: 'src', outputs: ['index.js', 'index.cjs'] },
  { dir: 'packages/otel-inference', src: 'src', outputs: ['index.js', 'register.js', 'register.cjs'] },
  { dir: 'sim', src: '.', outputs: ['index.js'] },
];

function buildIfNeeded() {
  let reason;
  for (const pkg of PACKAGES) {
    const root = path.join(REPO, pkg.dir);
    const outputs = pkg.outputs.map((f) => path.join(root, 'dist', f));
    if (!outputs.every((f) => existsSync(f))) reason ??= `${pkg.dir}/dist is missing`;
    else {
      const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
      const inputs = Math.max(newestMtime(path.join(root, pkg.src)), statSync(path.join(root, 'tsup.config.ts')).mtimeMs);
      if (inputs > built) reason ??= `${pkg.dir}/dist is older than its sources`;
    }
  }
  if (!reason) return;
  console.log(`demo: ${reason}: building (npm run build)…`);
  const began = Date.now();
  const npmCli = process.env.npm_execpath;
  const opts = { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] };
  const r = npmCli && /\.[cm]?js$/.test(npmCli)
    ? spawnSync(process.execPath, [npmCli, 'run', 'build', '--silent'], opts)
    : spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], {
        ...opts,
        shell: process.platform === 'win32',
      });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `${r.error.message}\n` : ''}`);
    console.error('demo: the build failed');
    process.exit(1);
  }
  console.log(`demo: built in ${((Date.now() - began) / 1000).toFixed(1)}s`);
}

// ---------------------------------------------------------------------------------------------
// Ports

function portIsFree(port, host) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

function freePort(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * A service child (a backend or the gateway): started with the preload, ready once it prints its
 * `listening on <url>` line. Its output is kept, not shown (the summary owns the terminal), and
 * printed if it fails.
 */
function startService(label, args, env) {
  const child = spawn(process.execPath, ['--import', 'otel-inference/register', ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  const keep = (d) => {
    output = (output + d).slice(-20_000);
  };
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      keep(`${err.message}\n`);
      resolve({ code: 1, signal: null });
    });
  });
  const ready = new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      keep(d);
      stdout += d;
      const m = / listening on (\S+)/.exec(stdout);
      if (m) resolve(m[1]);
    });
    void exited.then(({ code, signal }) => reject(new Error(`${label} exited before it was ready (${signal ?? `exit code ${code}`}):\n${output}`)));
  });
  return { label, child, ready, exited, output: () => output };
}

/** A port for a process's /metrics: `wanted` if free, else a free one (said in `notes`). */
async function metricsPort(wanted, host, label, notes) {
  if (await portIsFree(wanted, host)) return wanted;
  const port = await freePort(host);
  notes.push(`port ${wanted} is in use; the ${label}'s /metrics is on ${port} instead`);
  return port;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`demo: ${err.message}`);
    process.exit(2);
  }
  if (o.help) {
    console.log('usage: npm start -- [--duration 60 | --forever] [--concurrency 6] [--summary 3] [--sim-port 8000] [--fail-rate 0.2] [--seed N] [--no-build]');
    return;
  }
  if (o.build) buildIfNeeded();

  const base = { ...process.env };
  const host = process.env.SIM_HOST || '127.0.0.1';
  const notes = [];

  // Where the metrics go: the embedded Prometheus endpoints unless an OTLP endpoint is given.
  const otlpEndpoint = process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!process.env.OTEL_METRICS_EXPORTER) base.OTEL_METRICS_EXPORTER = otlpEndpoint ? 'otlp' : 'prometheus';
  const exporters = base.OTEL_METRICS_EXPORTER.split(',').map((s) => s.trim().toLowerCase());
  const prometheus = exporters.includes('prometheus');
  if (exporters.includes('otlp') && !process.env.OTEL_METRIC_EXPORT_INTERVAL) base.OTEL_METRIC_EXPORT_INTERVAL = '5000';
  const promHost = process.env.OTEL_EXPORTER_PROMETHEUS_HOST || 'localhost';
  const shownHost = promHost === '0.0.0.0' || promHost === '::' ? 'localhost' : promHost.includes(':') ? `[${promHost}]` : promHost;
  const promBase = Number(process.env.OTEL_EXPORTER_PROMETHEUS_PORT || 9464);
  const serviceName = base.OTEL_SERVICE_NAME || 'inference-demo';
  /** The environment of one process: its service name and, with Prometheus, its /metrics port. */
  const envFor = async (label, offset, extra = {}) => {
    const env = { ...base, OTEL_SERVICE_NAME: offset === 0 ? serviceName : `${serviceName}-${label}`, ...extra };
    if (prometheus || extra.OTEL_METRICS_EXPORTER) {
      const port = await metricsPort(promBase + offset, promHost, label, notes);
      env.OTEL_EXPORTER_PROMETHEUS_PORT = String(port);
      env.DEMO_METRICS_PORT = String(port);
    }
    return env;
  };

  // 1. The backends (unless SIM_BASE_URL points at a server of one's own).
  const services = [];
  const backends = [];
  const backendSpecs = [
    { name: 'primary', flags: ['--fail-rate', String(o.failRate), '--slots', '4'], about: `fast, answers 503 to ${Math.round(o.failRate * 100)} % of requests` },
    { name: 'secondary', flags: ['--latency-factor', '2', '--slots', '4'], about: 'twice as slow, no failures' },
  ];
  let stopping = false;
  const stopServices = () => Promise.all(services.map((s) => {
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
    return s.exited;
  }));
  const fail = async (message) => {
    console.error(`demo: ${message}`);
    stopping = true;
    await stopServices();
    process.exit(1);
  };
  if (!process.env.SIM_BASE_URL) {
    for (const [i, spec] of backendSpecs.entries()) {
      // It records its served requests itself (startServerRequest): the zero-code side steps aside.
      const env = await envFor(spec.name, 2 + i);
      const args = [BACKEND, '--name', spec.name, '--port', '0', '--host', host, ...spec.flags];
      if (o.seed !== undefined) args.push('--seed', String(o.seed + i));
      const service = startService(`backend ${spec.name}`, args, env);
      services.push(service);
      backends.push({ ...spec, service, metricsPort: env.DEMO_METRICS_PORT });
    }
    try {
      for (const b of backends) b.url = await b.service.ready;
    } catch (err) {
      await fail(err.message);
    }
  } else {
    backends.push({ name: 'upstream', url: process.env.SIM_BASE_URL, about: 'SIM_BASE_URL' });
  }

  // 2. The gateway. It always serves /metrics, and /v1/stats beside it: the summary reads the
  // gateway's part from its /v1/stats, over the same window as the load's own part.
  let gatewayPort = o.simPort ?? 8000;
  if (gatewayPort !== 0 && !(await portIsFree(gatewayPort, host))) {
    if (o.simPort !== undefined) await fail(`port ${gatewayPort} is in use (--sim-port / SIM_PORT)`);
    gatewayPort = 0;
  }
  const gatewayEnv = await envFor('gateway', 1, {
    OTEL_INFERENCE_STATS_WINDOW: String(o.window),
    ...(prometheus ? {} : { OTEL_METRICS_EXPORTER: `${base.OTEL_METRICS_EXPORTER},prometheus` }),
  });
  const gateway = startService(
    'gateway',
    [GATEWAY, '--port', String(gatewayPort), '--host', host, ...backends.flatMap((b) => ['--backend', `${b.name}=${b.url}`])],
    gatewayEnv,
  );
  services.push(gateway);
  let gatewayUrl;
  try {
    gatewayUrl = (await gateway.ready).replace('//0.0.0.0:', '//127.0.0.1:');
  } catch (err) {
    await fail(err.message);
  }
  const gatewayMetrics = `${shownHost}:${gatewayEnv.DEMO_METRICS_PORT}/metrics`;
  const gatewayStats = `${shownHost}:${gatewayEnv.DEMO_METRICS_PORT}/v1/stats`;

  // 3. The load generator, against the gateway.
  const loadEnv = await envFor('load', 0, { SIM_BASE_URL: gatewayUrl, OTEL_INFERENCE_IN_PROCESS_READER: 'true' });
  const metricsUrl = prometheus ? `${shownHost}:${loadEnv.DEMO_METRICS_PORT}/metrics` : '';

  const line = (label, text) => console.log(`  ${label.padEnd(10)} ${text}`);
  console.log('otel-inference demo');
  const models = [...DEMO_MODELS, ...DEMO_EMBEDDING_MODELS].map((m) => m.name).join(', ');
  for (const b of backends) {
    const where = b.metricsPort ? `; curl ${shownHost}:${b.metricsPort}/metrics` : '';
    line('backend', `${b.name.padEnd(9)} ${b.url}  ${b.service ? `simulated model server (${b.about})${where}` : '(SIM_BASE_URL)'}`);
  }
  if (backends.some((b) => b.service)) line('', `models: ${models}; queue, prefill and decode through startServerRequest`);
  line('gateway', `${gatewayUrl}  node:http + openai + withFallback (${backends.map((b) => b.name).join(' → ')}); curl ${gatewayMetrics} (or /v1/stats)`);
  line('load', `node --import otel-inference/register demo/load.mjs  (openai client, ${o.concurrency} in flight)`);
  const where = [];
  if (prometheus) where.push(`curl ${metricsUrl}`);
  if (exporters.includes('otlp')) where.push(`OTLP → ${otlpEndpoint || 'http://localhost:4318'} every ${Number(base.OTEL_METRIC_EXPORT_INTERVAL || 60000) / 1000}s`);
  if (exporters.includes('console')) where.push('console exporter (stdout of the load generator)');
  line('metrics', where.length > 0 ? where.join('; ') : `none (OTEL_METRICS_EXPORTER=${base.OTEL_METRICS_EXPORTER})`);
  for (const note of notes) line('', note);
  line('duration', o.forever ? 'until Ctrl-C' : `${o.duration}s (npm start -- --forever runs until Ctrl-C; --duration <s>)`);
  console.log('');

  const args = [
    '--import', 'otel-inference/register', LOAD,
    '--duration', String(o.forever ? 0 : o.duration),
    '--concurrency', String(o.concurrency),
    '--summary', String(o.summary),
    '--window', String(o.window),
    '--gateway-stats-url', gatewayStats,
  ];
  if (metricsUrl) args.push('--metrics-url', metricsUrl);
  // An IPC channel, so that the load stops if this process dies without stopping it.
  const child = spawn(process.execPath, args, { cwd: REPO, env: loadEnv, stdio: ['inherit', 'inherit', 'inherit', 'ipc'] });

  let stoppedAt = 0;
  let killTimer;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (err) => {
      console.error(`demo: could not start the load generator: ${err.message}`);
      resolve({ code: 1, signal: null });
    });
  });

  const stop = (why) => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer. (npm forwards the terminal's SIGINT, so the
      // same Ctrl-C can arrive twice: only a later one counts.)
      if (Date.now() - stoppedAt > 1500) for (const c of [child, ...services.map((s) => s.child)]) c.kill('SIGKILL');
      return;
    }
    stopping = true;
    stoppedAt = Date.now();
    if (why) console.log(`\ndemo: ${why}: stopping…`);
    // Ctrl-C reaches the children too (same process group); SIGTERM covers a signal sent to us alone.
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    killTimer.unref();
  };
  process.on('SIGINT', () => stop('interrupted'));
  process.on('SIGTERM', () => stop('terminated'));
  // A service that dies stops the demo: the load would only see errors.
  for (const s of services) {
    void s.exited.then(({ code, signal }) => {
      if (stopping) return;
      console.error(`demo: the ${s.label} stopped (${signal ?? `exit code ${code}`}):\n${s.output()}`);
      stop(`the ${s.label} stopped`);
    });
  }

  // A safety net: the child stops itself after --duration (plus its in-flight requests).
  let overdue;
  if (!o.forever) {
    overdue = setTimeout(() => stop('the load generator did not stop in time'), (o.duration + 30) * 1000);
    overdue.unref();
  }

  const { code, signal } = await exited;
  clearTimeout(overdue);
  clearTimeout(killTimer);
  // The load is done: the gateway and the backends flush their last metrics and stop.
  stopping = true;
  const serviceKill = setTimeout(() => services.forEach((s) => s.child.kill('SIGKILL')), 10_000);
  serviceKill.unref();
  await stopServices();
  clearTimeout(serviceKill);
  const ok = code === 0 || (stoppedAt > 0 && (signal === 'SIGTERM' || signal === 'SIGINT' || code === 130 || code === 143));
  if (!ok) {
    console.error(`demo: the load generator failed (${signal ?? `exit code ${code}`})`);
    process.exit(1);
  }
  console.log(
    metricsUrl && !o.forever
      ? `demo: done; the /metrics endpoints stopped with it (npm start -- --forever keeps them up)`
      : 'demo: done',
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(`demo: ${err?.stack ?? err}`);
  process.exit(1);
});
