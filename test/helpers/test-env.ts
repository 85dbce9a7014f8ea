/** Variables `npm test` (test/run.ts) passes to the test files, beside the pipeline's own settings. */
export const TEST_ENV = {
  bundle: 'LOGIN_ETL_TEST_WORKFLOW_BUNDLE',
} as const;
