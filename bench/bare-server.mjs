// Baseline for `npm run bench`: the cheapest possible Node.js HTTP server on the same machine, run
// with plain `node` (no tsx, no framework) so that `api / bare` shows what the API's own work costs.
import { Buffer } from "node:buffer";
import http from "node:http";
import process from "node:process";

const body = JSON.stringify({
  id: "00000000-0000-4000-8000-000000000000",
  name: "bare",
  data: {},
  version: 1,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
});
const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };

const server = http.createServer((request, response) => {
  // Drain the request body (POST/PUT scenarios send one) before answering, as a real server must.
  request.resume();
  request.on("end", () => {
    response.writeHead(200, headers);
    response.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : ""}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
