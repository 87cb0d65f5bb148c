import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** An error that is the client's answer: RFC 9457 problem details with a status. */
export class HttpProblem extends Error {
  override readonly name = "HttpProblem";

  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }
}

export const badRequest = (detail: string) => new HttpProblem(400, detail);
export const notFound = (detail: string) => new HttpProblem(404, detail);
export const preconditionFailed = (detail: string) => new HttpProblem(412, detail);
/** Overload and unavailable dependencies: the client may retry, here or on another replica. */
export const serviceUnavailable = (detail: string, retryAfterSeconds: number, cause?: unknown) =>
  new HttpProblem(503, detail, { "retry-after": String(retryAfterSeconds) }, { cause });

const PROBLEM_CONTENT_TYPE = "application/problem+json";

function problemBody(status: number, detail: string): Buffer {
  const title = STATUS_CODES[status] ?? "Error";
  return Buffer.from(JSON.stringify({ type: "about:blank", title, status, detail }));
}

function sendProblem(reply: FastifyReply, problem: HttpProblem): FastifyReply {
  // A Buffer, so Fastify sends the media type as is (it appends a charset to JSON it serialises).
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemBody(problem.status, problem.detail));
}

const LINGER_MS = 2_000;

/**
 * Reads and drops what is left of a request body, for at most LINGER_MS. An answer sent before the
 * body arrived (413, 415, 404, 405, 400 on the URL) is followed by closing the connection, at least
 * when the client asked for that; closing with unread bytes makes the kernel reset the connection,
 * and the client, still sending, gets EPIPE or ECONNRESET instead of the answer.
 */
export function readRestOfBody(request: IncomingMessage): Promise<void> {
  if (request.complete || request.readableEnded || request.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, LINGER_MS);
    request.once("end", done).once("close", done).once("error", done);
    request.resume();
  });
}

// Node's parser errors that have a status of their own; every other parse error is a 400.
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 408,
  HPE_HEADER_OVERFLOW: 431,
};

/**
 * For Fastify's `clientErrorHandler`: a request Node cannot parse (bad request line, header or
 * framing) never reaches a route, so the problem response is written on the socket here.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERROR_STATUS[error.code ?? ""] ?? 400;
  const body = problemBody(status, "The request is not valid HTTP/1.1");
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  // Lingering close: the rest of the request is read and dropped for a while, so a client still
  // sending a body can finish and read this answer instead of having its connection reset.
  socket.removeAllListeners("data");
  socket.on("data", () => undefined);
  socket.end(Buffer.concat([Buffer.from(head), body]));
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

function isFastifyClientError(error: FastifyError): boolean {
  return error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500;
}

function toProblem(error: FastifyError, request: FastifyRequest): HttpProblem {
  if (error instanceof HttpProblem) return error;
  // Body parsing and size checks (400, 413, 415): their messages describe the request, not internals.
  if (error.statusCode === 415) return new HttpProblem(415, "Content-Type must be application/json");
  if (isFastifyClientError(error)) return new HttpProblem(error.statusCode ?? 400, error.message);
  request.log.error({ err: error }, "unexpected error");
  return new HttpProblem(500, "An unexpected error occurred; it has been logged.");
}

/** For Fastify's `frameworkErrors` option: URL errors found before routing get a problem body too. */
export function sendFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendProblem(reply, toProblem(error, request));
}

/** Paths of the registered routes, so an unknown method on a known path is a 405, not a 404. */
class RouteTable {
  private readonly routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, methods: string | readonly string[]): void {
    const route = this.routes.get(url) ?? { pattern: RouteTable.toPattern(url), methods: new Set<string>() };
    for (const method of typeof methods === "string" ? [methods] : methods) route.methods.add(method);
    this.routes.set(url, route);
  }

  allowedMethods(path: string): string[] | undefined {
    for (const { pattern, methods } of this.routes.values()) {
      if (pattern.test(path)) return [...methods].sort();
    }
    return undefined;
  }

  private static toPattern(url: string): RegExp {
    const escaped = url
      .split("/")
      .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    return new RegExp(`^${escaped.join("/")}$`);
  }
}

/** One error handler and one not-found handler for the whole app; must be set up before any route. */
export function registerErrorHandling(app: FastifyInstance): void {
  const routes = new RouteTable();
  app.addHook("onRoute", (route) => routes.add(route.url, route.method));

  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(reply, toProblem(error, request)));

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?", 1)[0] ?? request.url;
    const allowed = routes.allowedMethods(path);
    if (allowed && !allowed.includes(request.method)) {
      const problem = new HttpProblem(405, `${request.method} is not allowed on ${path}`, {
        allow: allowed.join(", "),
      });
      return sendProblem(reply, problem);
    }
    return sendProblem(reply, notFound(`No resource at ${path}`));
  });
}
