// Interleaved measurement: the API, the floor server and the bare server take turns in short rounds
// under one scenario, so a slow stretch of the machine (a noisy neighbour, a PostgreSQL checkpoint)
// falls on all three alike instead of on whichever happened to run then. Consecutive 15 s runs of the
// same POST scenario on one VM measured 81-164 µs/req; a ratio between runs minutes apart inherits
// that spread, a ratio between interleaved rounds does not.
import type { BusyConnections } from "./db-activity";
import type { LoadFigures } from "./results";

/** The order of the servers in round `round`: rotated by one each round, so none always runs first. */
export function roundOrder<T>(servers: readonly T[], round: number): T[] {
  const shift = round % servers.length;
  return [...servers.slice(shift), ...servers.slice(0, shift)];
}

/** Each round's share of the measured seconds; the whole window is what a single run would have measured. */
export function roundSeconds(durationSeconds: number, rounds: number): number {
  if (!(Number.isInteger(rounds) && rounds > 0))
    throw new Error(`rounds: ${rounds} must be a positive integer`);
  return durationSeconds / rounds;
}

/**
 * One server's rounds as one measurement: counts, CPU seconds and seconds add up (so CPU per request
 * is total CPU over total responses, as for one window), the mean latency is weighted by responses,
 * and each latency percentile and the peak RSS are the highest any round saw: a bound no round
 * exceeded rather than a blend.
 */
export function poolRounds(rounds: readonly LoadFigures[]): LoadFigures {
  if (rounds.length === 0) throw new Error("poolRounds: no rounds to pool");
  const sum = (pick: (round: LoadFigures) => number) =>
    rounds.reduce((total, round) => total + pick(round), 0);
  const highest = (pick: (round: LoadFigures) => number) => Math.max(...rounds.map(pick));
  const durationSeconds = sum((round) => round.durationSeconds);
  const requests = sum((round) => round.requests);
  const cpuSeconds = sum((round) => round.server.cpuSeconds);
  const statusCodes: Record<string, number> = {};
  for (const round of rounds)
    for (const [code, count] of Object.entries(round.statusCodes))
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
  return {
    connections: rounds[0].connections,
    durationSeconds,
    requests,
    rps: sum((round) => round.rps * round.durationSeconds) / durationSeconds,
    latencyMs: {
      mean: requests > 0 ? sum((round) => round.latencyMs.mean * round.requests) / requests : 0,
      p50: highest((round) => round.latencyMs.p50),
      p90: highest((round) => round.latencyMs.p90),
      p99: highest((round) => round.latencyMs.p99),
      p99_9: highest((round) => round.latencyMs.p99_9),
      max: highest((round) => round.latencyMs.max),
    },
    errors: sum((round) => round.errors),
    timeouts: sum((round) => round.timeouts),
    non2xx: sum((round) => round.non2xx),
    statusCodes,
    server: {
      cpuSeconds,
      cpuUtilization: cpuSeconds / durationSeconds,
      peakRssMiB: highest((round) => round.server.peakRssMiB),
    },
  };
}

/** Busy database connections over equally long rounds: the mean of the means, the highest maximum. */
export function poolBusyConnections(rounds: readonly BusyConnections[]): BusyConnections {
  if (rounds.length === 0) throw new Error("poolBusyConnections: no rounds to pool");
  const mean = (pick: (round: BusyConnections) => number) =>
    rounds.reduce((total, round) => total + pick(round), 0) / rounds.length;
  const highest = (pick: (round: BusyConnections) => number) => Math.max(...rounds.map(pick));
  return {
    primaryMean: mean((round) => round.primaryMean),
    primaryMax: highest((round) => round.primaryMax),
    replicaMean: mean((round) => round.replicaMean),
    replicaMax: highest((round) => round.replicaMax),
  };
}
