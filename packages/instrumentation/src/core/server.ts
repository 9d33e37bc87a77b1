/** `server.address` and `server.port` of a request, as the semantic conventions define them. */
export interface ServerAttributes {
  address?: string;
  port?: number;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'https:': 443, 'http:': 80 };

/**
 * The server of a base URL (`https://host:port/v1`): its host name, and its port, explicit or
 * the scheme's default. A URL that does not parse gives no attributes: the request is still
 * recorded, without them.
 */
export function serverOfUrl(url: string | URL): ServerAttributes {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return {};
  }
  const port = parsed.port !== '' ? Number(parsed.port) : DEFAULT_PORTS[parsed.protocol];
  return port === undefined ? { address: parsed.hostname } : { address: parsed.hostname, port };
}
