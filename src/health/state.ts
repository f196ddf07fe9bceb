/**
 * Rise/fall hysteresis for one target, as HAProxy and Envoy count it: an up target goes down after
 * `fall` consecutive failed probes, a down target comes back after `rise` consecutive good ones.
 * Anything in between leaves the state alone, so one lost probe does not flap DNS answers.
 */
export type HealthStatus = 'up' | 'down';

export interface Thresholds {
  rise: number;
  fall: number;
}

export class HealthState {
  private current: HealthStatus;
  private streak = 0;

  /**
   * Targets start up: at start every role comes up together, and treating all edges as down would only
   * make pools fail open (answer everything) until the first probes pass.
   */
  constructor(
    private readonly thresholds: Thresholds,
    initial: HealthStatus = 'up',
  ) {
    this.current = initial;
  }

  get status(): HealthStatus {
    return this.current;
  }

  /** Records one probe result; returns the new status when this result changed it. */
  record(ok: boolean): HealthStatus | undefined {
    // A result that agrees with the current status resets the count toward the opposite status.
    if (ok === (this.current === 'up')) {
      this.streak = 0;
      return undefined;
    }
    this.streak++;
    const needed = this.current === 'up' ? this.thresholds.fall : this.thresholds.rise;
    if (this.streak < needed) return undefined;
    this.current = this.current === 'up' ? 'down' : 'up';
    this.streak = 0;
    return this.current;
  }
}
