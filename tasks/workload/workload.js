// The work of the reference applications for JavaScript tasks: the same sizes and loops as the
// Rust `workload` crate (src/lib.rs), so a task ported to JavaScript does the same work.

const PAPER_WORK = { burn: 7.0, burn_reps: 2, sieve: 500000, db_ms: 10, sleep_ms: 500 };

/** The work sizes a request carries, with the paper's for any left out. */
export function work(payload) {
  return { ...PAPER_WORK, ...(payload?.work ?? {}) };
}

/** The payload for a callee of `caller`: same work sizes, no operation. */
export function forCallee(payload, caller) {
  return { work: work(payload), from: caller };
}

/** The paper's CPU loop: from n^7 down to 0, summing atan(i)·tan(i). */
export function burn(n) {
  let sum = 0;
  for (let i = Math.floor(n ** 7); i >= 0; i--) sum += Math.atan(i) * Math.tan(i);
  return sum;
}

export function burnReps(w, n) {
  let result = 0;
  for (let r = 0; r < Math.max(1, w.burn_reps); r++) result = burn(n);
  return result;
}

/** Number of primes up to `limit` by the sieve of Eratosthenes. */
export function sieve(limit) {
  const composite = new Uint8Array(limit + 1);
  let primes = 0;
  for (let i = 2; i <= limit; i++) {
    if (composite[i]) continue;
    primes++;
    for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  }
  return primes;
}

/** An emulated database operation: the task waits, as it would for a network round trip. */
export function dbOp(w) {
  return new Promise((resolve) => setTimeout(resolve, w.db_ms));
}
