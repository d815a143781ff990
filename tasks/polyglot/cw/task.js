// IoT CW in JavaScript: validates a reading, CPU-bound (a sieve of Eratosthenes).
import { task } from '../../../guest-sdk/js/fusion.js';
import { sieve, work } from '../../workload/workload.js';

export const handle = task((payload) => ({ task: 'CW', primes: sieve(work(payload).sieve) }));
