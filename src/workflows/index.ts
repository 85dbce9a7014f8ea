export { controlQuery, drainQueue, pauseSignal, resumeSignal, statsQuery, stopSignal } from './drain-queue';
export { retentionRun } from './retain-data';
