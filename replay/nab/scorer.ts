/**
 * The NAB scorer (Numenta Anomaly Benchmark v1.0, `nab/sweeper.py`, `optimizer.py`, `scorer.py`),
 * ported to TypeScript. Pure: rows, windows and a cost profile in; scores out.
 *
 * How NAB scores a detector, in short (see /work/shared/reference/nab.md):
 * - the first `min(floor(0.15·n), 750)` rows of each file are probation and do not count;
 * - each row gets a weight: inside a labelled window a detection earns up to `tpWeight`, more the
 *   earlier it is; outside, it costs up to `fpWeight`, less just after a window;
 * - at a threshold, a file scores the sum of its false-positive weights plus, per window, the best
 *   detection's weight or `-fnWeight` when nothing in it fired;
 * - one threshold per profile maximises the score pooled over every file, found by sweeping all
 *   distinct anomaly scores; per-file scores are then taken at that threshold;
 * - the raw sum is normalised so the null detector scores 0 and the perfect one 100.
 */

/** The three NAB cost profiles' names, in NAB's order. */
export const PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** A cost profile: what a detected window earns, a missed one costs, a false positive costs. */
export interface CostProfile {
  name: ProfileName;
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

/**
 * NAB's `config/profiles.json` (`tnWeight` is unused by the scorer).
 *
 * @example
 * PROFILES.reward_low_FP_rate.fpWeight // 0.22
 */
export const PROFILES: Readonly<Record<ProfileName, Readonly<CostProfile>>> = Object.freeze({
  standard: Object.freeze({ name: 'standard', tpWeight: 1, fpWeight: 0.11, fnWeight: 1 }),
  reward_low_FP_rate: Object.freeze({ name: 'reward_low_FP_rate', tpWeight: 1, fpWeight: 0.22, fnWeight: 1 }),
  reward_low_FN_rate: Object.freeze({ name: 'reward_low_FN_rate', tpWeight: 1, fpWeight: 0.11, fnWeight: 2 }),
});

/** A labelled window as in `combined_windows.json`: inclusive `[start, end]` timestamps. */
export type Window = readonly [start: string, end: string];

/**
 * Canonical form of a NAB timestamp: `YYYY-MM-DD HH:MM:SS`. Windows carry a `.000000` suffix that the
 * data rows do not, and NAB matches windows to rows by exact equality, so both sides go through this.
 *
 * @example
 * normaliseTimestamp('2014-02-26 13:45:00.000000') // '2014-02-26 13:45:00'
 */
export function normaliseTimestamp(ts: string): string {
  let s = ts.trim();
  if (s.length > 10 && s[10] === 'T') s = `${s.slice(0, 10)} ${s.slice(11)}`;
  const dot = s.indexOf('.', 17);
  if (dot >= 0) s = s.slice(0, dot);
  if (s.endsWith('Z')) s = s.slice(0, -1);
  return s;
}

/**
 * Rows at the start of a file that are excluded from scoring (`sweeper._getProbationaryLength`).
 *
 * @example
 * probationLength(4032) // 604
 * probationLength(22695) // 750
 */
export function probationLength(rows: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * 5000);
}

/**
 * NAB's scaled sigmoid: `2σ(−5p) − 1`, and −1 beyond `p > 3`.
 *
 * @example
 * scaledSigmoid(-1) // 0.98661…
 */
export function scaledSigmoid(p: number): number {
  if (p > 3) return -1;
  return 2 / (1 + Math.exp(5 * p)) - 1;
}

const TP_NORMALISER = scaledSigmoid(-1);

/**
 * A file's rows prepared for scoring: per row, the profile-free weight and the window it falls in.
 * Build once with {@link prepareFile}, score under any profile and threshold.
 */
export interface PreparedFile {
  name: string;
  rows: number;
  probation: number;
  /** windows that count: those with a row after probation (NAB ignores one wholly inside it) */
  windows: number;
  /** index of the first window that counts; earlier ones lie wholly inside probation */
  firstWindow: number;
  /** anomaly score per row */
  scores: Float64Array;
  /**
   * Per row: inside a window, `S(p)/S(−1)` (multiply by `tpWeight`); outside, `S(p)` or −1 before the
   * first window (multiply by `fpWeight`).
   */
  unitWeight: Float64Array;
  /** Per row: index of the window the row is in, or −1 */
  windowOf: Int32Array;
}

/**
 * Locates the windows in a file and computes every row's weight (`sweeper.calcSweepScore`).
 * Throws when a window boundary is not a timestamp of the file, or windows are out of order:
 * NAB would silently stop scoring the file's remaining windows.
 *
 * @example
 * const f = prepareFile('a.csv', ['2014-01-01 00:00:00', …], scores, [['2014-01-01 10:00:00.000000', '2014-01-01 12:00:00.000000']]);
 */
export function prepareFile(
  name: string,
  timestamps: readonly string[],
  scores: ArrayLike<number>,
  windows: readonly Window[],
): PreparedFile {
  const n = timestamps.length;
  if (scores.length !== n) throw new Error(`${name}: ${n} timestamps but ${scores.length} scores`);
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const ts = normaliseTimestamp(timestamps[i]!);
    if (!index.has(ts)) index.set(ts, i);
  }
  const bounds: Array<[number, number]> = [];
  for (const [start, end] of windows) {
    const l = index.get(normaliseTimestamp(start));
    const r = index.get(normaliseTimestamp(end));
    if (l === undefined) throw new Error(`${name}: window start ${start} is not a row timestamp`);
    if (r === undefined) throw new Error(`${name}: window end ${end} is not a row timestamp`);
    if (r < l) throw new Error(`${name}: window ${start}..${end} ends before it starts`);
    const prev = bounds[bounds.length - 1];
    if (prev && l <= prev[1]) throw new Error(`${name}: window ${start}..${end} overlaps or precedes the one before`);
    bounds.push([l, r]);
  }

  const unitWeight = new Float64Array(n);
  const windowOf = new Int32Array(n).fill(-1);
  let w = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const cur = bounds[w];
    if (cur && i >= cur[0] && i <= cur[1]) {
      const width = cur[1] - cur[0] + 1;
      unitWeight[i] = scaledSigmoid(-(cur[1] - i + 1) / width) / TP_NORMALISER;
      windowOf[i] = w;
      if (i === cur[1]) {
        prevRight = cur[1];
        prevWidth = width;
        w++;
      }
    } else if (prevRight < 0) {
      unitWeight[i] = -1;
    } else {
      unitWeight[i] = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
    }
  }
  const probation = probationLength(n);
  let firstWindow = 0;
  while (firstWindow < bounds.length && bounds[firstWindow]![1] < probation) firstWindow++;
  return {
    name,
    rows: n,
    probation,
    windows: bounds.length - firstWindow,
    firstWindow,
    scores: Float64Array.from(scores),
    unitWeight,
    windowOf,
  };
}

/**
 * The profile-weighted score of one row (NAB's `S(t)_<profile>` column).
 *
 * @example
 * rowWeight(file, 0, PROFILES.standard) // -0.11 for a row before the first window
 */
export function rowWeight(file: PreparedFile, i: number, profile: CostProfile): number {
  const u = file.unitWeight[i]!;
  return file.windowOf[i]! >= 0 ? u * profile.tpWeight : u * profile.fpWeight;
}

/** A file's result at one threshold. `tp/tn/fp/fn` count non-probationary rows, as NAB does. */
export interface FileScore {
  file: string;
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
  /** non-probationary rows */
  total: number;
  windows: number;
  windowsDetected: number;
  windowsMissed: number;
  /** false-positive rows that cost something: detections outside windows */
  falsePositiveRows: number;
}

/**
 * Scores one file at a threshold: a row is a detection iff `anomaly_score ≥ threshold`
 * (`scorer.scoreDataSet`).
 *
 * @example
 * scoreFile(file, PROFILES.standard, 0.5).score
 */
export function scoreFile(file: PreparedFile, profile: CostProfile, threshold: number): FileScore {
  const best = new Float64Array(file.windows).fill(-profile.fnWeight);
  const hit = new Uint8Array(file.windows);
  let fpSum = 0;
  let tp = 0;
  let tn = 0;
  let fp = 0;
  let fn = 0;
  for (let i = file.probation; i < file.rows; i++) {
    const w = file.windowOf[i]! - file.firstWindow;
    const detected = file.scores[i]! >= threshold;
    if (w >= 0) {
      if (detected) {
        tp++;
        hit[w] = 1;
        const s = file.unitWeight[i]! * profile.tpWeight;
        if (s > best[w]!) best[w] = s;
      } else fn++;
    } else if (detected) {
      fp++;
      fpSum += file.unitWeight[i]! * profile.fpWeight;
    } else tn++;
  }
  let score = fpSum;
  let windowsDetected = 0;
  for (let w = 0; w < file.windows; w++) {
    score += best[w]!;
    windowsDetected += hit[w]!;
  }
  return {
    file: file.name,
    threshold,
    score,
    tp,
    tn,
    fp,
    fn,
    total: tp + tn + fp + fn,
    windows: file.windows,
    windowsDetected,
    windowsMissed: file.windows - windowsDetected,
    falsePositiveRows: fp,
  };
}

/** One step of the threshold sweep: the pooled score when every row `≥ threshold` is a detection. */
export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  tn: number;
  fp: number;
  fn: number;
}

/**
 * The exhaustive threshold sweep over every file pooled (`sweeper.calcScoreByThreshold` on the
 * concatenated rows): starts at 1.1 (nothing detected) and steps down through each distinct score.
 *
 * @example
 * const steps = sweepThresholds(files, PROFILES.standard); // steps[0].threshold === 1.1
 */
export function sweepThresholds(files: readonly PreparedFile[], profile: CostProfile): ThresholdScore[] {
  let total = 0;
  let windowCount = 0;
  for (const f of files) {
    total += f.rows - f.probation;
    windowCount += f.windows;
  }
  const score = new Float64Array(total);
  const weight = new Float64Array(total);
  const window = new Int32Array(total);
  let k = 0;
  let windowBase = 0;
  for (const f of files) {
    for (let i = f.probation; i < f.rows; i++, k++) {
      const w = f.windowOf[i]! - f.firstWindow;
      score[k] = f.scores[i]!;
      window[k] = w >= 0 ? windowBase + w : -1;
      weight[k] = w >= 0 ? f.unitWeight[i]! * profile.tpWeight : f.unitWeight[i]! * profile.fpWeight;
    }
    windowBase += f.windows;
  }
  // A stable sort by descending score: ties keep file order, as Python's sort does.
  const order = new Uint32Array(total);
  for (let i = 0; i < total; i++) order[i] = i;
  order.sort((a, b) => score[b]! - score[a]! || a - b);

  const best = new Float64Array(windowCount).fill(-profile.fnWeight);
  let fpSum = 0;
  let windowSum = -profile.fnWeight * windowCount;
  let tp = 0;
  let fp = 0;
  let inWindowRows = 0;
  for (let i = 0; i < total; i++) if (window[i]! >= 0) inWindowRows++;
  let fn = inWindowRows;
  let tn = total - inWindowRows;

  const steps: ThresholdScore[] = [];
  let threshold = 1.1;
  for (let j = 0; j < total; j++) {
    const r = order[j]!;
    if (score[r] !== threshold) {
      steps.push({ threshold, score: fpSum + windowSum, tp, tn, fp, fn });
      threshold = score[r]!;
    }
    const w = window[r]!;
    if (w >= 0) {
      tp++;
      fn--;
      const s = weight[r]!;
      // Only an improvement changes the sum, so equal pooled scores stay exactly equal (ties).
      if (s > best[w]!) {
        windowSum += s - best[w]!;
        best[w] = s;
      }
    } else {
      fp++;
      tn--;
      fpSum += weight[r]!;
    }
  }
  steps.push({ threshold, score: fpSum + windowSum, tp, tn, fp, fn });
  return steps;
}

/**
 * The threshold that maximises the pooled score; on ties, the highest such threshold (NAB's `max`
 * keeps the first).
 *
 * @example
 * optimiseThreshold(files, PROFILES.standard) // { threshold: 0.3174…, score: 57.66… }
 */
export function optimiseThreshold(files: readonly PreparedFile[], profile: CostProfile): { threshold: number; score: number } {
  let bestStep: ThresholdScore | undefined;
  for (const step of sweepThresholds(files, profile)) if (!bestStep || step.score > bestStep.score) bestStep = step;
  return { threshold: bestStep!.threshold, score: bestStep!.score };
}

/** A detector's result for one profile over a corpus. */
export interface ProfileResult {
  profile: ProfileName;
  threshold: number;
  /** sum of the per-file scores */
  raw: number;
  /** 100·(raw − null)/(perfect − null) */
  normalised: number;
  nullScore: number;
  perfectScore: number;
  files: FileScore[];
}

/**
 * NAB's normalisation: 0 for a detector that never fires, 100 for one that fires on the first row of
 * every window and nowhere else.
 *
 * @example
 * normaliseScore(57.66, PROFILES.standard, 116) // ≈ 74.85
 */
export function normaliseScore(raw: number, profile: CostProfile, windows: number): number {
  const perfect = windows * profile.tpWeight;
  const none = -windows * profile.fnWeight;
  return (100 * (raw - none)) / (perfect - none);
}

/**
 * Scores a corpus under a profile: optimises the threshold (unless one is given), scores each file
 * at it and normalises the total.
 *
 * @example
 * const r = scoreCorpus(files, PROFILES.standard); // r.normalised ≈ 74.85 for ARTime
 */
export function scoreCorpus(files: readonly PreparedFile[], profile: CostProfile, threshold?: number): ProfileResult {
  const t = threshold ?? optimiseThreshold(files, profile).threshold;
  const perFile = files.map((f) => scoreFile(f, profile, t));
  const raw = perFile.reduce((s, r) => s + r.score, 0);
  const windows = files.reduce((s, f) => s + f.windows, 0);
  return {
    profile: profile.name,
    threshold: t,
    raw,
    normalised: normaliseScore(raw, profile, windows),
    nullScore: -windows * profile.fnWeight,
    perfectScore: windows * profile.tpWeight,
    files: perFile,
  };
}
