// The command-line life of a demo service (demo/backend.mjs, demo/gateway.mjs): parse the flags,
// start, print one line, and stop cleanly: close the server, end the requests still open and
// export what is left (shutdown() of otel-inference/register), then exit 0.
import { pathToFileURL } from 'node:url';
import { shutdown } from 'otel-inference/register';

/** Whether `moduleUrl` (import.meta.url) is the script node was started with. */
export function isMain(moduleUrl) {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/**
 * Runs a service from the command line. `parseArgs(argv)` throws on a bad flag (exit 2) or returns
 * `{ help: true }` (print `usage`); `start(opts)` resolves with `{ close() }`; `banner(opts,
 * service)` is the one line printed once it listens.
 */
export function runService(label, { parseArgs, usage, start, banner }) {
  (async () => {
    let opts;
    try {
      opts = parseArgs(process.argv.slice(2));
    } catch (err) {
      console.error(`${label}: ${err.message}`);
      process.exit(2);
    }
    if (opts.help) {
      console.log(usage);
      return;
    }
    const service = await start(opts);
    console.log(banner(opts, service));
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      await service.close();
      // Ends the requests still open (cancelled, error.type shutdown) and exports what is left.
      await shutdown();
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    // Under npm start (an IPC channel to it): a Ctrl-C reaches the whole process group, but the
    // parent stops this process itself once the load generator is done with it; and if the parent
    // dies, the channel closes and this process stops too.
    const underParent = typeof process.send === 'function';
    process.on('SIGINT', underParent ? () => {} : stop);
    if (underParent) process.on('disconnect', stop);
  })().catch((err) => {
    console.error(`${label}: ${err?.stack ?? err}`);
    process.exit(1);
  });
}

/**
 * Listens on `host:port` (0: any free port) and resolves with the OpenAI base URL, the port, and
 * `close()`, which stops listening and destroys the open sockets (in-flight streams are cut).
 */
export async function listen(server, host, port) {
  const sockets = new Set();
  server.on('connection', (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = server.address().port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${actual}/v1`,
    port: actual,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
