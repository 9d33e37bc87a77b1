// `npm start`: the otel-inference demo, with no collector, Docker or API key.
//
//   1. the simulated OpenAI-compatible server (sim/, with the demo profile of demo/profile.mjs), in
//      this process;
//   2. the load generator (demo/load.mjs) as a child process, preloaded exactly like an app:
//        node --import otel-inference/register demo/load.mjs
//      with OTEL_METRICS_EXPORTER=prometheus (the embedded /metrics endpoint, default
//      localhost:9464) — or OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set — and
//      OTEL_INFERENCE_IN_PROCESS_READER=true for its live per-model summary;
//   3. stops by itself after --duration seconds (children stopped, exit code 0), or on Ctrl-C.
//
// Flags:
//   --duration <s>      how long to run (default 60)
//   --forever           run until Ctrl-C
//   --concurrency <n>   requests in flight (default 6)
//   --summary <s>       summary refresh interval, seconds (default 3)
//   --window <s>        the summary's sliding window, seconds (default 30)
//   --sim-port <port>   the simulated server's port (default $SIM_PORT or 8000; a free one if busy;
//                       0 = any free port)
//   --seed <n>          seed of the simulated server's random latency and errors
//   --no-build          do not build the packages and sim/ even when a build is missing or older than
//                       its sources
//
// Environment: OTEL_* as for any app (OTEL_EXPORTER_PROMETHEUS_PORT/HOST, OTEL_METRICS_EXPORTER,
// OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, ...); SIM_BASE_URL: use that server instead of
// starting the simulated one; SIM_HOST: the simulated server's listen address (default 127.0.0.1).

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_EMBEDDING_MODELS, DEMO_MODELS, DEMO_PROFILE } from './profile.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOAD = path.join(REPO, 'demo', 'load.mjs');

function parseArgs(argv) {
  const o = {
    duration: 60,
    forever: false,
    concurrency: 6,
    summary: 3,
    window: 30,
    simPort: process.env.SIM_PORT ? Number(process.env.SIM_PORT) : undefined,
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

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`demo: ${err.message}`);
    process.exit(2);
  }
  if (o.help) {
    console.log('usage: npm start -- [--duration 60 | --forever] [--concurrency 6] [--summary 3] [--sim-port 8000] [--no-build]');
    return;
  }
  if (o.build) buildIfNeeded();

  const env = { ...process.env };

  // The simulated server (unless SIM_BASE_URL points elsewhere).
  let sim;
  let baseURL = process.env.SIM_BASE_URL;
  if (!baseURL) {
    // Imported once built (buildIfNeeded above).
    const { startSimServer } = await import('../sim/dist/index.js');
    const host = process.env.SIM_HOST || '127.0.0.1';
    let port = o.simPort ?? 8000;
    if (port !== 0 && !(await portIsFree(port, host))) {
      if (o.simPort !== undefined) {
        console.error(`demo: port ${port} is in use (--sim-port / SIM_PORT)`);
        process.exit(1);
      }
      port = 0;
    }
    sim = await startSimServer({ port, host, profile: DEMO_PROFILE, recordRequests: false, ...(o.seed !== undefined ? { seed: o.seed } : {}) });
    baseURL = sim.url.replace('//0.0.0.0:', '//127.0.0.1:');
  }
  env.SIM_BASE_URL = baseURL;

  // Where the metrics go: the embedded Prometheus endpoint unless an OTLP endpoint is given.
  const otlpEndpoint = process.env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!process.env.OTEL_METRICS_EXPORTER) env.OTEL_METRICS_EXPORTER = otlpEndpoint ? 'otlp' : 'prometheus';
  const exporters = env.OTEL_METRICS_EXPORTER.split(',').map((s) => s.trim().toLowerCase());
  if (exporters.includes('otlp') && !process.env.OTEL_METRIC_EXPORT_INTERVAL) env.OTEL_METRIC_EXPORT_INTERVAL = '5000';
  env.OTEL_INFERENCE_IN_PROCESS_READER = 'true';
  env.OTEL_SERVICE_NAME ||= 'inference-demo';

  let metricsUrl = '';
  const where = [];
  if (exporters.includes('prometheus')) {
    const host = process.env.OTEL_EXPORTER_PROMETHEUS_HOST || 'localhost';
    let port = Number(process.env.OTEL_EXPORTER_PROMETHEUS_PORT || 9464);
    if (!(await portIsFree(port, host))) {
      if (process.env.OTEL_EXPORTER_PROMETHEUS_PORT) {
        console.error(`demo: port ${port} is in use (OTEL_EXPORTER_PROMETHEUS_PORT); the /metrics endpoint will not start`);
      } else {
        const was = port;
        port = await freePort(host);
        console.log(`demo: port ${was} is in use; serving /metrics on ${port} instead (set OTEL_EXPORTER_PROMETHEUS_PORT to choose)`);
      }
      env.OTEL_EXPORTER_PROMETHEUS_PORT = String(port);
    }
    const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
    metricsUrl = `${shown}:${port}/metrics`;
    where.push(`curl ${metricsUrl}`);
  }
  if (exporters.includes('otlp')) {
    const endpoint = otlpEndpoint || 'http://localhost:4318';
    where.push(`OTLP → ${endpoint} every ${Number(env.OTEL_METRIC_EXPORT_INTERVAL || 60000) / 1000}s`);
  }
  if (exporters.includes('console')) where.push('console exporter (stdout of the load generator)');

  const line = (label, text) => console.log(`  ${label.padEnd(10)} ${text}`);
  console.log('otel-inference demo');
  if (sim) {
    const models = [...DEMO_MODELS, ...DEMO_EMBEDDING_MODELS].map((m) => m.name).join(', ');
    line('server', `${baseURL}  simulated OpenAI-compatible API (${models})`);
  } else {
    line('server', `${baseURL}  (SIM_BASE_URL)`);
  }
  line('load', `node --import otel-inference/register demo/load.mjs  (openai client, ${o.concurrency} in flight)`);
  line('metrics', where.length > 0 ? where.join('; ') : `none (OTEL_METRICS_EXPORTER=${env.OTEL_METRICS_EXPORTER})`);
  line('duration', o.forever ? 'until Ctrl-C' : `${o.duration}s (npm start -- --forever runs until Ctrl-C; --duration <s>)`);
  console.log('');

  const args = [
    '--import', 'otel-inference/register', LOAD,
    '--duration', String(o.forever ? 0 : o.duration),
    '--concurrency', String(o.concurrency),
    '--summary', String(o.summary),
    '--window', String(o.window),
  ];
  if (metricsUrl) args.push('--metrics-url', metricsUrl);
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: 'inherit' });

  let stopping = false;
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
      if (Date.now() - stoppedAt > 1500) child.kill('SIGKILL');
      return;
    }
    stopping = true;
    stoppedAt = Date.now();
    if (why) console.log(`\ndemo: ${why}: stopping…`);
    // Ctrl-C reaches the child too (same process group); SIGTERM covers a signal sent to us alone.
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    killTimer.unref();
  };
  process.on('SIGINT', () => stop('interrupted'));
  process.on('SIGTERM', () => stop('terminated'));

  // A safety net: the child stops itself after --duration (plus its in-flight requests).
  let overdue;
  if (!o.forever) {
    overdue = setTimeout(() => stop('the load generator did not stop in time'), (o.duration + 30) * 1000);
    overdue.unref();
  }

  const { code, signal } = await exited;
  clearTimeout(overdue);
  clearTimeout(killTimer);
  if (sim) await sim.close();
  const ok = code === 0 || (stopping && (signal === 'SIGTERM' || signal === 'SIGINT' || code === 130 || code === 143));
  if (!ok) {
    console.error(`demo: the load generator failed (${signal ?? `exit code ${code}`})`);
    process.exit(1);
  }
  console.log(
    metricsUrl && !o.forever
      ? `demo: done; the ${metricsUrl} endpoint stopped with it (npm start -- --forever keeps it up)`
      : 'demo: done',
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(`demo: ${err?.stack ?? err}`);
  process.exit(1);
});
