/**
 * A robust, exponentially weighted level and scale for a stream of numbers.
 *
 * The level follows the stream with learning rate `alpha`, but each step's correction is clipped to
 * `huberK` scales (a Huber update), so one outlier moves it by at most `alpha·huberK·scale`, and a slow
 * ramp is followed at a bounded speed rather than absorbed in one go. The scale is the exponentially
 * weighted mean absolute deviation, learned with the same clipping (at `3·huberK` scales) so a burst
 * of outliers cannot inflate it quickly. Until `1/scaleAlpha` values have been seen the scale is a
 * plain running mean, so early values do not get clipped against a scale of zero.
 */
export class RobustLevel {
  private levelValue = NaN;
  private scaleValue = 0;
  private seen = 0;

  /**
   * @param alpha learning rate of the level (0 < alpha ≤ 1)
   * @param scaleAlpha learning rate of the scale (0 < scaleAlpha ≤ 1)
   * @param huberK corrections are clipped to this many scales
   *
   * @example
   * const level = new RobustLevel(0.1, 0.02, 3);
   * for (const x of [10, 11, 9, 10, 500]) level.update(x); // 500 barely moves the level
   */
  constructor(
    readonly alpha: number,
    readonly scaleAlpha: number,
    readonly huberK: number,
  ) {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
    if (!(scaleAlpha > 0 && scaleAlpha <= 1)) throw new RangeError(`scaleAlpha must be in (0, 1], got ${scaleAlpha}`);
    if (!(huberK > 0)) throw new RangeError(`huberK must be > 0, got ${huberK}`);
  }

  /** Current level (NaN before the first value). */
  get level(): number {
    return this.levelValue;
  }

  /** Current scale: the typical absolute deviation from the level. */
  get scale(): number {
    return this.scaleValue;
  }

  /** How many values have been learned. */
  get count(): number {
    return this.seen;
  }

  /**
   * Returns `x − level` as it stood before `x`, then learns `x`.
   *
   * @example
   * new RobustLevel(0.5, 0.5, 3).update(4) // 0: the first value sets the level
   */
  update(x: number): number {
    if (this.seen === 0) {
      this.levelValue = x;
      this.seen = 1;
      return 0;
    }
    const deviation = x - this.levelValue;
    const size = Math.abs(deviation);
    this.seen++;
    if (this.seen * this.scaleAlpha < 1 || this.scaleValue === 0) {
      this.levelValue += this.alpha * deviation;
      this.scaleValue += (size - this.scaleValue) / Math.min(this.seen - 1, 1 / this.scaleAlpha);
    } else {
      const clip = this.huberK * this.scaleValue;
      this.levelValue += this.alpha * Math.max(-clip, Math.min(clip, deviation));
      this.scaleValue += this.scaleAlpha * (Math.min(size, 3 * clip) - this.scaleValue);
    }
    return deviation;
  }

  /** Plain state for snapshots. */
  toJSON(): RobustLevelState {
    return { level: this.levelValue, scale: this.scaleValue, seen: this.seen };
  }

  /** Restores state written by {@link toJSON}. */
  restore(state: RobustLevelState): void {
    this.levelValue = state.level ?? NaN;
    this.scaleValue = state.scale;
    this.seen = state.seen;
  }
}

/** Serialised {@link RobustLevel} state (`level` is null before the first value). */
export interface RobustLevelState {
  level: number | null;
  scale: number;
  seen: number;
}
