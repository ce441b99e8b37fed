/**
 * One `ArrayBuffer` for all of a baseline's numeric state. A typed array costs ~170 bytes of
 * `JSTypedArray` + `JSArrayBuffer` before its first element, and a double-valued object field ~24
 * (a boxed number each), so a profile made of seven typed arrays and forty number fields weighed
 * ~4 KB before it had learned anything (bench/memory.ts). Here a profile has one buffer, one
 * `DataView`, a fixed block of scalars and a few *regions* (histogram bins, seasonal slots, the
 * novelty table) that start empty and grow when they are first written: a function seen for three
 * hours does not pay for 48 seasonal slots or 56 duration bins it has never touched.
 *
 * Layout: `[regions: u8][region starts: u32 × regions][scalars][region 0][region 1]…`. Growing a region
 * reallocates the buffer (the regions after it move); growth is rare (a new histogram bin, a new
 * slot, a new item), so the copy is cheap against the memory it saves.
 *
 * Values keep the precision of the typed arrays they replace: `setFloat32` rounds exactly as a
 * `Float32Array` store does.
 */

/**
 * A buffer with a scalar block and growable regions. Facades (`RateModel`, `LogHistogram`,
 * `NoveltySet`) hold the arena and read through `arena.m`, which is replaced when a region grows.
 *
 * @example
 * const a = new Arena(2, 16);      // two regions, 16 bytes of scalars
 * a.m.setFloat64(a.scalars, 1.5, true);
 * a.resize(1, 8, 0);               // region 1 now holds 8 zero bytes
 * a.start(1);                      // its byte offset
 */
export class Arena {
  /** The state; replaced (never mutated in size) when a region grows. */
  m: DataView;

  constructor(regions: number, scalarBytes: number) {
    if (regions < 1 || regions > 255) throw new RangeError(`an arena has 1 to 255 regions, not ${regions}`);
    const head = 1 + regions * 4 + scalarBytes;
    this.m = new DataView(new ArrayBuffer(head));
    this.m.setUint8(0, regions);
    for (let k = 0; k < regions; k++) this.m.setUint32(1 + k * 4, head, true);
  }

  /** Number of regions (in the buffer's first byte: a field would cost 8 bytes per profile). */
  get regions(): number {
    return this.m.getUint8(0);
  }

  /** Byte offset of the scalar block. */
  get scalars(): number {
    return 1 + this.m.getUint8(0) * 4;
  }

  /** Byte offset where region `k` starts. */
  start(k: number): number {
    return this.m.getUint32(1 + k * 4, true);
  }

  /** Bytes in region `k`. */
  length(k: number): number {
    const end = k + 1 < this.regions ? this.m.getUint32(1 + (k + 1) * 4, true) : this.m.byteLength;
    return end - this.m.getUint32(1 + k * 4, true);
  }

  /**
   * Grows region `k` to `bytes`, inserting `front` zero bytes before its current contents (a window
   * that extends downwards) and zeros after them. Regions never shrink.
   */
  resize(k: number, bytes: number, front: number): void {
    const old = this.m;
    const s = this.start(k);
    const len = this.length(k);
    const delta = bytes - len;
    if (delta < 0 || front < 0 || front > delta) throw new RangeError(`arena region ${k}: cannot resize ${len} → ${bytes} bytes (front ${front})`);
    const src = new Uint8Array(old.buffer, old.byteOffset, old.byteLength);
    const dst = new Uint8Array(old.byteLength + delta);
    dst.set(src.subarray(0, s), 0);
    dst.set(src.subarray(s, s + len), s + front);
    dst.set(src.subarray(s + len), s + bytes);
    const m = new DataView(dst.buffer);
    for (let j = k + 1; j < this.regions; j++) m.setUint32(1 + j * 4, m.getUint32(1 + j * 4, true) + delta, true);
    this.m = m;
  }

  /** Bytes held (for tests and the memory benchmark). */
  get byteLength(): number {
    return this.m.byteLength;
  }
}

const TWO32 = 2 ** 32;
const TWO48 = 2 ** 48;

/** Whether `t` fits the 6-byte time encoding: a whole number of ms in [0, 2^48) (until year 10889). */
export function fitsTime48(t: number): boolean {
  return Number.isInteger(t) && t >= 0 && t < TWO48;
}

/** Writes a {@link fitsTime48} value in 6 bytes at `o`. */
export function setTime48(m: DataView, o: number, t: number): void {
  const hi = Math.floor(t / TWO32);
  m.setUint16(o, hi, true);
  m.setUint32(o + 2, t - hi * TWO32, true);
}

/** Reads a value written by {@link setTime48}. */
export function getTime48(m: DataView, o: number): number {
  return m.getUint16(o, true) * TWO32 + m.getUint32(o + 2, true);
}
