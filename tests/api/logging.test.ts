// The log line's timestamp is built once per millisecond (logging.ts): it must still be the time of
// the line, to the millisecond, in the ISO 8601 form Cloud Logging reads from `time`.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger, isoTimeOncePerMillisecond } from "../../app-image/src/logging";

describe("log timestamps", () => {
  it("rebuilds the time field whenever the millisecond changes, and only then", () => {
    let clock = Date.parse("2026-12-07T10:00:00.000Z");
    let reads = 0;
    const timeField = isoTimeOncePerMillisecond(() => {
      reads += 1;
      return clock;
    });
    const first = timeField();
    assert.equal(first, ',"time":"2026-12-07T10:00:00.000Z"');
    assert.equal(timeField(), first, "same millisecond, same field");
    clock += 1;
    assert.equal(timeField(), ',"time":"2026-12-07T10:00:00.001Z"');
    clock += 61_000;
    assert.equal(timeField(), ',"time":"2026-12-07T10:01:01.001Z"');
    assert.equal(reads, 4, "the clock is read for every line");
  });

  it("stamps every line of the app's logger with the time it was written", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const logger = createLogger("info", destination);
    const before = Date.now();
    logger.info("first");
    await new Promise((resolve) => setTimeout(resolve, 5));
    const middle = Date.now();
    logger.info("second");
    const after = Date.now();
    const times = lines.map((line) => Date.parse(String((JSON.parse(line) as { time: unknown }).time)));
    assert.equal(times.length, 2);
    assert.ok(
      times[0] >= before && times[0] <= middle,
      `first line at ${times[0]}, written in ${before}-${middle}`,
    );
    assert.ok(
      times[1] >= middle && times[1] <= after,
      `second line at ${times[1]}, written in ${middle}-${after}`,
    );
    assert.ok(times[1] > times[0], "a later line carries a later time");
  });
});
