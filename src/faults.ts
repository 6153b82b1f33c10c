// Deliberate faults for rollback demos: a sick canary that the mesh's outlier
// detection should eject. Off unless configured.
/** Marks an answer that failed on purpose, so a demo tells it from a real failure. */
export const FAULT_HEADER = 'x-ecadraft-fault';

export interface FaultSettings {
  errorRate: number;
  delayMs: { min: number; max: number } | undefined;
}

export class Faults {
  constructor(
    readonly settings: FaultSettings,
    readonly random: () => number = Math.random,
  ) {}

  get enabled(): boolean {
    return this.settings.errorRate > 0 || this.settings.delayMs !== undefined;
  }

  /** Whether this request should fail. */
  fails(): boolean {
    return this.random() < this.settings.errorRate;
  }

  /** How long this request should wait first, in milliseconds. */
  delay(): number {
    const range = this.settings.delayMs;
    if (!range) return 0;
    return range.min + Math.floor(this.random() * (range.max - range.min + 1));
  }
}
