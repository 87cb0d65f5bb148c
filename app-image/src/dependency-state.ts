import { errorMessage, type Logger } from "./logging";

/**
 * Up/down state of a dependency, logged once per change so an outage under load is one log line,
 * not one per request.
 */
export class DependencyState {
  private available = true;

  constructor(
    private readonly dependency: string,
    private readonly log: Logger,
  ) {}

  get isAvailable(): boolean {
    return this.available;
  }

  failed(error: unknown, consequence: string): void {
    if (!this.available) return;
    this.available = false;
    this.log.warn(
      { dependency: this.dependency, error: errorMessage(error) },
      `${this.dependency} unavailable: ${consequence}`,
    );
  }

  recovered(): void {
    if (this.available) return;
    this.available = true;
    this.log.info({ dependency: this.dependency }, `${this.dependency} available again`);
  }
}
