// HTTP clients for the tests: fetch for ordinary calls, node:http and node:net for what fetch refuses
// to send (odd methods, forbidden headers, malformed requests).
import { request as httpRequest } from "node:http";
import { connect } from "node:net";

export interface HttpResponse {
  readonly status: number;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
  /** Wall-clock milliseconds from sending to the end of the body. */
  readonly elapsedMs: number;
}

export interface RequestOptions {
  /** Serialized as JSON with `Content-Type: application/json`. */
  readonly json?: unknown;
  /** Sent as is; give the Content-Type in `headers`. */
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export async function send(
  baseUrl: string,
  method: string,
  path: string,
  { json, body, headers = {}, timeoutMs = 10_000 }: RequestOptions = {},
): Promise<HttpResponse> {
  const started = Date.now();
  const jsonHeaders: Record<string, string> =
    json === undefined ? {} : { "content-type": "application/json" };
  const response = await fetch(baseUrl + path, {
    method,
    headers: { ...jsonHeaders, ...headers },
    body: json === undefined ? body : JSON.stringify(json),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    text,
    elapsedMs: Date.now() - started,
  };
}

export function parseJson(response: HttpResponse): unknown {
  try {
    return JSON.parse(response.text);
  } catch {
    throw new Error(`expected a JSON body, got status ${response.status}: ${response.text.slice(0, 300)}`);
  }
}

export interface RawRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  readonly timeoutMs?: number;
}

/** One request on a fresh connection through node:http, which sends any method and path verbatim. */
export function rawRequest(
  port: number,
  { method, path, headers = {}, body, timeoutMs = 10_000 }: RawRequest,
) {
  const started = Date.now();
  // node:http sends no Content-Length for a HEAD or GET body, which would desync the connection
  const framing: Record<string, string> =
    body === undefined ||
    Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name))
      ? {}
      : { "content-length": String(Buffer.byteLength(body)) };
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { ...framing, ...headers },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const flatHeaders: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) flatHeaders[name] = Array.isArray(value) ? value.join(", ") : value;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: flatHeaders,
            text: Buffer.concat(chunks).toString("utf8"),
            elapsedMs: Date.now() - started,
          });
        });
      },
    );
    req.on("timeout", () =>
      req.destroy(new Error(`no response to ${method} ${path} within ${timeoutMs} ms`)),
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Writes raw bytes on a fresh connection, half-closes it, and returns what came back until the
 * server closed the connection or `timeoutMs` passed (then `timedOut` is true).
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  timeoutMs = 5_000,
): Promise<{ reply: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const finish = (timedOut: boolean) => {
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks).toString("latin1"), timedOut });
    };
    socket.setTimeout(timeoutMs, () => finish(true));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => finish(false));
    socket.on("end", () => finish(false));
    socket.on("connect", () => socket.end(bytes));
  });
}

/** Status code of the first response in a raw reply, or undefined when there is none. */
export function statusOfRawReply(reply: string): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(reply);
  return match === null ? undefined : Number(match[1]);
}

/** Status, lower-case headers and body of the first response in a raw reply. */
export function parseRawReply(reply: string): HttpResponse | undefined {
  const status = statusOfRawReply(reply);
  const headerEnd = reply.indexOf("\r\n\r\n");
  if (status === undefined || headerEnd < 0) return undefined;
  const headers: Record<string, string> = {};
  for (const line of reply.slice(0, headerEnd).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers["content-length"] ?? "0");
  const text = reply.slice(headerEnd + 4, headerEnd + 4 + length);
  return { status, headers, text, elapsedMs: 0 };
}
