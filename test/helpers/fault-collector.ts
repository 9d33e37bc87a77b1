/**
 * An OTLP/HTTP endpoint that misbehaves on purpose, for the exit and back-pressure tests:
 * `hang` accepts and never answers, `status` answers every request with one status code (and
 * a Retry-After header when given), `garbage` answers 200 with a body that is not an OTLP
 * response. It counts the requests and the most that were in flight at once.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { kind: 'hang' } | { kind: 'status'; status: number; retryAfter?: string } | { kind: 'garbage' };

export interface FaultCollector {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Requests received so far, with the time each arrived (epoch ms). */
  readonly arrivals: number[];
  /** The most requests that were open at the same time. */
  readonly maxInFlight: number;
  close(): Promise<void>;
}

/** Bytes no protobuf decoder accepts (a field with the reserved wire type 7). */
export const NOT_OTLP = Buffer.from([0x0f, 0xff, 0xff, 0xff, 0xff, 0xff]);

export async function startFaultCollector(fault: Fault): Promise<FaultCollector> {
  const arrivals: number[] = [];
  let open = 0;
  let maxInFlight = 0;
  const server = http.createServer((req, res) => {
    arrivals.push(Date.now());
    open++;
    maxInFlight = Math.max(maxInFlight, open);
    res.on('close', () => open--);
    req.resume();
    req.on('end', () => {
      if (fault.kind === 'hang') return;
      if (fault.kind === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(NOT_OTLP);
        return;
      }
      res.writeHead(fault.status, fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    get maxInFlight() {
      return maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
