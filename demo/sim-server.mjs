#!/usr/bin/env node
// The demo's simulated OpenAI-compatible server, on its own:
//
//   node demo/sim-server.mjs [--port 8000] [--host 127.0.0.1] [--profile demo|none] [--seed N]
//
// (npm run demo:server; docker compose's demo-server). The server is sim/, built into sim/dist by
// `npm run build`; `--profile demo` (demo/profile.mjs) gives several models with realistic,
// jittered latency and a small share of failures, `--profile none` (the default) the fixed,
// x-sim-driven behaviour the tests use.

import { DEMO_PROFILE } from './profile.mjs';

const PROFILES = { demo: DEMO_PROFILE, none: undefined };
const USAGE = 'usage: node demo/sim-server.mjs [--port 8000] [--host 127.0.0.1] [--profile demo|none] [--seed N]';

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    arg = arg.slice(2);
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    } else if (arg === 'help') {
      value = 'true';
    } else {
      value = argv[++i];
      if (value === undefined) throw new Error(`missing value for --${arg}`);
    }
    out[arg] = value;
  }
  if (out.profile !== undefined && !Object.hasOwn(PROFILES, out.profile)) {
    throw new Error(`unknown profile ${JSON.stringify(out.profile)} (expected 'demo' or 'none')`);
  }
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`sim-server: ${err.message}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  let startSimServer;
  try {
    ({ startSimServer } = await import('../sim/dist/index.js'));
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    console.error('sim-server: sim/dist is missing: run `npm run build` first');
    process.exit(1);
  }
  const options = {
    port: args.port !== undefined ? Number(args.port) : 8000,
    host: args.host ?? '127.0.0.1',
    recordRequests: false,
  };
  const profile = args.profile !== undefined ? PROFILES[args.profile] : undefined;
  if (profile) options.profile = profile;
  if (args.seed !== undefined) options.seed = Number(args.seed);
  const server = await startSimServer(options);
  console.log(`sim-server listening on ${server.url}`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`sim-server: ${err?.stack ?? err}`);
  process.exit(1);
});
