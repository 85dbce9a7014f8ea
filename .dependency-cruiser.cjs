/**
 * The layering the code relies on, checked by `npm run lint` (dependency-cruiser). Type-only imports are erased at
 * compile time, so only the imports that run are held to the rules.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'workflow-sandbox',
      comment:
        "Workflow code runs in Temporal's deterministic sandbox: it may import only other workflow code, the " +
        'workflow SDK and the pure modules named here (no I/O, no Node built-ins), or type-only imports.',
      severity: 'error',
      from: { path: '^src/workflows/' },
      to: {
        dependencyTypesNot: ['type-only'],
        pathNot: [
          '^src/workflows/',
          '^src/core/failure-types[.]ts$',
          '^src/core/refused-payload[.]ts$',
          '^src/core/pace[.]ts$',
          '^src/metrics/index[.]ts$',
          '^node_modules/@temporalio/(workflow|common)/',
        ],
      },
    },
    {
      name: 'core-is-pure',
      comment: 'src/core is the pure core (schema, validation, masking, row building): no adapter, no I/O package.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: {
        dependencyTypesNot: ['type-only'],
        path: [
          '^src/(activities|db|sqs|temporal|stack|cli|pii|workflows)/',
          '^node_modules/(pg|@aws-sdk|@temporalio)/',
        ],
      },
    },
    {
      name: 'src-stands-alone',
      comment: 'What ships (src/, compiled to dist/) must not need the tests, the benchmark, scripts or tools.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|tools)/' },
    },
    {
      name: 'bench-not-on-tests',
      comment: 'The benchmark shares helpers with the fault suite through tools/, not by reaching into test/.',
      severity: 'error',
      from: { path: '^(bench|tools)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^(src|bench|tools|test|scripts)/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
