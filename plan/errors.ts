/** Exit code of a plan that could not start: bad arguments, unknown stack or a broken config rule. */
export const EXIT_BAD_INPUT = 2;
/** Exit code of a plan whose program threw (or whose run never completed). */
export const EXIT_PROGRAM_FAILED = 1;

/** A failed plan run: `message` is one line, `exitCode` is what the CLI exits with. */
export class PlanError extends Error {
  override readonly name = "PlanError";

  constructor(
    readonly exitCode: typeof EXIT_BAD_INPUT | typeof EXIT_PROGRAM_FAILED,
    message: string,
  ) {
    super(message);
  }
}

/** Starts the worker's last stderr line when a plan fails; the rest of the line is the message. */
export const PLAN_ERROR_PREFIX = "offline-plan-error:";
