/** Variables `npm test` (test/run.ts) passes to the test files, beside the pipeline's own settings. */
export const TEST_ENV = {
  bundle: 'LOGIN_ETL_TEST_WORKFLOW_BUNDLE',
  codecServer: 'LOGIN_ETL_TEST_CODEC_SERVER',
  temporalUi: 'LOGIN_ETL_TEST_TEMPORAL_UI',
  /** The file that receives every log line of the shared test stack (Temporal, SQS emulator, Postgres, codec). */
  stackLog: 'LOGIN_ETL_TEST_STACK_LOG',
} as const;
