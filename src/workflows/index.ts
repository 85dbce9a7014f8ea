export { drainQueue, statsQuery } from './drain-queue';
