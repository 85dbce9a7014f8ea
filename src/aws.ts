/** Dummy credentials for local emulators; real AWS uses the SDK's default credential chain. */
const LOCAL_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Client settings for an AWS service at `endpoint` (an emulator) or, when undefined, at AWS itself. */
export function awsClientSettings(endpoint: string | undefined, region: string) {
  const local = endpoint !== undefined && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE;
  return { region, endpoint, credentials: local ? LOCAL_CREDENTIALS : undefined, maxAttempts: 3 };
}
