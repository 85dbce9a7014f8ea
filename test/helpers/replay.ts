import path from 'node:path';

/** Histories of real drains, one folder per release of the workflow code that recorded them. */
export const REPLAY_HISTORIES_DIR = path.join(__dirname, '..', 'replay', 'histories');

/** The root key the recorded drains ran with (synthetic events only): replay decodes their payloads with it. */
export const REPLAY_ROOT_SECRET = 'replay-root-secret-replay-root-secret-0123';
