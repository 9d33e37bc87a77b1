/**
 * Starts fixture apps as child processes, preloaded with otel-inference/register resolved
 * through the package's own exports map (cwd is the repo, so `otel-inference` self-references).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const APPS = path.join(REPO, 'test/fixtures/apps');

export type Loader = 'import' | 'require' | 'node-options' | 'none';

export interface RunOptions {
  /** A file in test/fixtures/apps (or relative to it); ignored with `eval`. */
  app: string;
  /** Run this code with `node -e` instead of a file. */
  eval?: string;
  loader?: Loader;
  env?: Record<string, string | undefined>;
  /** Command-line arguments for the app. */
  args?: string[];
  /** Kill the process if still running after this many ms. Default 20 s. */
  timeoutMs?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** The environment without any OTEL_* variable of the test runner's own. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('OTEL_') && k !== 'NODE_OPTIONS' && !k.startsWith('VITEST')) env[k] = v;
  }
  return env;
}

export interface Started {
  child: ChildProcess;
  /** Resolves when stdout contains `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  done: Promise<RunResult>;
}

export function start(opts: RunOptions): Started {
  const loader = opts.loader ?? (opts.app.endsWith('.cjs') ? 'require' : 'import');
  const args: string[] = [];
  const env: NodeJS.ProcessEnv = { ...baseEnv(), ...opts.env };
  if (loader === 'import') args.push('--import', 'otel-inference/register');
  if (loader === 'require') args.push('--require', 'otel-inference/register');
  if (loader === 'node-options') env.NODE_OPTIONS = '--import otel-inference/register';
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  if (opts.eval !== undefined) args.push('-e', opts.eval, ...(opts.args ?? []));
  else args.push(path.join(APPS, opts.app), ...(opts.args ?? []));
  const began = Date.now();
  const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    for (const w of waiters.splice(0)) if (stdout.includes(w.text)) w.resolve();
    else waiters.push(w);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - began });
    });
  });
  return {
    child,
    done,
    waitForOutput(text, timeoutMs = 15_000) {
      if (stdout.includes(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no "${text}" in stdout: ${stdout} / stderr: ${stderr}`)), timeoutMs);
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        });
      });
    },
  };
}

export function run(opts: RunOptions): Promise<RunResult> {
  return start(opts).done;
}

export interface FakeOpenAIOptions {
  /**
   * Streams end with a usage chunk only when the request asked for one
   * (`stream_options.include_usage: true`), as OpenAI's API does. Default: always.
   */
  usageOnlyWhenAsked?: boolean;
}

/** A request the fake OpenAI server received: its path and its body (parsed when JSON). */
export interface FakeOpenAIRequest {
  method: string;
  path: string;
  body: unknown;
}

/**
 * A minimal OpenAI-compatible server: chat completions with usage, streamed or not. `requests`
 * keeps every request received, in order.
 */
export async function startFakeOpenAI(
  options: FakeOpenAIOptions = {},
): Promise<{ url: string; requests: FakeOpenAIRequest[]; close(): Promise<void> }> {
  const requests: FakeOpenAIRequest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let model = 'unknown';
      let stream = false;
      let parsed: any;
      try {
        parsed = JSON.parse(body);
        model = parsed.model ?? model;
        stream = parsed.stream === true;
      } catch {
        /* not JSON */
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', body: parsed ?? body });
      const withUsage = !options.usageOnlyWhenAsked || parsed?.stream_options?.include_usage === true;
      if (stream) {
        res.setHeader('content-type', 'text/event-stream');
        const chunk = (delta: object, usage?: object): string =>
          `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: usage ? [] : [{ index: 0, delta, finish_reason: null }], ...(usage ? { usage } : {}) })}\n\n`;
        let i = 0;
        const words = ['he', 'll', 'o'];
        const timer = setInterval(() => {
          if (i < words.length) res.write(chunk({ content: words[i++] }));
          else {
            clearInterval(timer);
            if (withUsage) res.write(chunk({}, { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }));
            res.end('data: [DONE]\n\n');
          }
        }, 20);
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Lines of stderr written by register's diag logger. */
export function diagLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('otel-inference:'));
}
