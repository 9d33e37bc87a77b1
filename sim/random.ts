/** A random number generator returning floats in [0, 1). */
export type Random = () => number;

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function makeRandom(seed: number): Random {
  let a = seed >>> 0;
  return function random() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a over the string's UTF-16 code units. */
export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** `base` ± `jitter` (a fraction), never below 0. */
export function jittered(random: Random, base: number, jitter: number): number {
  return Math.max(0, base * (1 + (random() * 2 - 1) * jitter));
}
