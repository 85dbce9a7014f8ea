import { isLoopbackUrl } from './config';
import { createLogger } from './log';

/** Dummy credentials for local emulators; real AWS uses the SDK's default credential chain. */
const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The oldest Node.js the AWS SDK releases from January 2027 on will run on. */
const AWS_SDK_NEXT_NODE = 22;
let nodeNoticeGiven = false;

/**
 * On Node 20 the AWS SDK prints an eight-line notice in every process; one line of ours says the same and what to
 * do. The SDK versions this project pins still run on Node 20.
 */
function noticeOldNode(): void {
  if (nodeNoticeGiven) return;
  nodeNoticeGiven = true;
  if (Number(process.versions.node.split('.')[0]) >= AWS_SDK_NEXT_NODE) return;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  createLogger('node').warn(
    `Node ${process.versions.node} is past its end of life; this release runs on it, later AWS SDKs need ` +
      `Node ${AWS_SDK_NEXT_NODE}+: use Node 22 or 24`,
  );
}

/** Client settings for an AWS service at `endpoint` (an emulator, or an AWS endpoint) or, when undefined, at AWS. */
export function awsClientSettings(endpoint: string | undefined, region: string) {
  noticeOldNode();
  // Dummy credentials only for an emulator on this machine, and only when none are configured.
  const local =
    endpoint !== undefined && isLoopbackUrl(endpoint) && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
  return {
    region,
    endpoint,
    credentials: local ? LOCAL_CREDENTIALS : undefined,
    maxAttempts: 3,
    // A silent network (no reset) fails the call instead of hanging it; the longest call is a 20 s long poll.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  };
}
