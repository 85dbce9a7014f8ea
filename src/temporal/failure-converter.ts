import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Moves failure messages and stack traces into an encoded payload, which the codec encrypts: an error from a
 * driver can echo a value it was given, and failures are stored in history like any payload.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
