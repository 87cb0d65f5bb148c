// The bench measures the API, the floor and the bare server in interleaved rounds and pools each
// server's rounds into one figure (bench/rounds.ts); the ratios the CPU targets are judged by come
// from these pooled figures, so the pooling must be the one-window arithmetic, not an average of ratios.
import assert from "node:assert/strict";
import { poolBusyConnections, poolRounds, roundOrder, roundSeconds } from "../../bench/rounds";
import type { LoadFigures } from "../../bench/results";

function round(overrides: {
  seconds: number;
  requests: number;
  rps: number;
  cpuSeconds: number;
  mean: number;
  p99_9: number;
  peakRssMiB: number;
  statusCodes: Record<string, number>;
  non2xx?: number;
}): LoadFigures {
  return {
    connections: 200,
    durationSeconds: overrides.seconds,
    requests: overrides.requests,
    rps: overrides.rps,
    latencyMs: {
      mean: overrides.mean,
      p50: overrides.mean,
      p90: overrides.mean + 1,
      p99: overrides.p99_9 - 1,
      p99_9: overrides.p99_9,
      max: overrides.p99_9 + 10,
    },
    errors: 0,
    timeouts: 0,
    non2xx: overrides.non2xx ?? 0,
    statusCodes: overrides.statusCodes,
    server: {
      cpuSeconds: overrides.cpuSeconds,
      cpuUtilization: overrides.cpuSeconds / overrides.seconds,
      peakRssMiB: overrides.peakRssMiB,
    },
  };
}

describe("bench rounds: interleaved measurement of the API, floor and bare servers", () => {
  it("rotates the servers by one each round, so each runs first, second and third equally often", () => {
    const servers = ["api", "floor", "bare"];
    assert.deepEqual(
      [0, 1, 2, 3].map((index) => roundOrder(servers, index)),
      [
        ["api", "floor", "bare"],
        ["floor", "bare", "api"],
        ["bare", "api", "floor"],
        ["api", "floor", "bare"],
      ],
    );
  });

  it("splits the measured seconds across the rounds and refuses a round count that is not a positive integer", () => {
    assert.equal(roundSeconds(30, 5), 6);
    assert.throws(() => roundSeconds(30, 0), /rounds: 0 must be a positive integer/);
    assert.throws(() => roundSeconds(30, 2.5), /rounds: 2.5 must be a positive integer/);
  });

  it("pools rounds as one window: CPU per request is total CPU over total responses, not a mean of rounds", () => {
    // A quiet round (100 µs/req over 10,000 responses) and a slow one (400 µs/req over 1,000): the
    // mean of the two per-round figures would be 250 µs; the window's figure is 5 s / 11,000 = ~127 µs.
    const pooled = poolRounds([
      round({
        seconds: 6,
        requests: 10_000,
        rps: 1_600,
        cpuSeconds: 1,
        mean: 10,
        p99_9: 40,
        peakRssMiB: 90,
        statusCodes: { "200": 9_600, "503": 400 },
        non2xx: 400,
      }),
      round({
        seconds: 6,
        requests: 1_000,
        rps: 150,
        cpuSeconds: 0.4,
        mean: 120,
        p99_9: 300,
        peakRssMiB: 110,
        statusCodes: { "200": 900, "503": 100 },
        non2xx: 100,
      }),
    ]);
    assert.equal(pooled.durationSeconds, 12);
    assert.equal(pooled.requests, 11_000);
    assert.equal(pooled.server.cpuSeconds, 1.4);
    assert.ok(Math.abs((pooled.server.cpuSeconds * 1e6) / pooled.requests - 127.27) < 0.01);
    assert.ok(Math.abs(pooled.server.cpuUtilization - 1.4 / 12) < 1e-12);
    assert.equal(pooled.rps, (1_600 * 6 + 150 * 6) / 12);
    assert.ok(Math.abs(pooled.latencyMs.mean - (10 * 10_000 + 120 * 1_000) / 11_000) < 1e-9);
    // Percentiles cannot be averaged: the pooled one is the worst round's, which no round exceeded.
    assert.equal(pooled.latencyMs.p99_9, 300);
    assert.equal(pooled.latencyMs.max, 310);
    assert.equal(pooled.server.peakRssMiB, 110);
    assert.equal(pooled.non2xx, 500);
    assert.deepEqual(pooled.statusCodes, { "200": 10_500, "503": 500 });
  });

  it("refuses to pool nothing", () => {
    assert.throws(() => poolRounds([]), /no rounds/);
    assert.throws(() => poolBusyConnections([]), /no rounds/);
  });

  it("pools busy database connections of equal rounds as the mean of means and the highest maximum", () => {
    assert.deepEqual(
      poolBusyConnections([
        { primaryMean: 2, primaryMax: 5, replicaMean: 1, replicaMax: 3 },
        { primaryMean: 4, primaryMax: 9, replicaMean: 3, replicaMax: 4 },
      ]),
      { primaryMean: 3, primaryMax: 9, replicaMean: 2, replicaMax: 4 },
    );
  });
});
