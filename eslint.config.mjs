// Workspace lint rules. Module boundaries: apps depend on libs only, libs never
// on apps; util libs (pure code) depend only on other util libs. Tests may also
// use the testing lib.
import nx from '@nx/eslint-plugin';

function boundaries({ forTests }) {
  // Tests may start a real edge (feature) to drive what they test.
  const extra = forTests ? ['type:testing', 'type:feature'] : [];
  return [
    'error',
    {
      enforceBuildableLibDependency: true,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:util', 'type:data-access', 'type:contracts', 'type:testing'] },
        // Feature libs build on each other only within their scope (scope rules below).
        { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:feature', 'type:util', 'type:data-access', 'type:contracts', ...extra] },
        { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:util', 'type:data-access', 'type:contracts', ...extra] },
        { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:util', 'type:contracts', ...extra] },
        { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', ...extra] },
        // A feature lib is one app's core; apps compose them (embedded mode composes all three).
        { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
        { sourceTag: 'scope:ingest', onlyDependOnLibsWithTags: ['scope:ingest', 'scope:shared'] },
        { sourceTag: 'scope:config', onlyDependOnLibsWithTags: ['scope:config', 'scope:shared'] },
        // The embedded server composes every part in one process.
        { sourceTag: 'scope:embedded', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:ingest', 'scope:config', 'scope:shared'] },
        { sourceTag: 'scope:swarm', onlyDependOnLibsWithTags: ['scope:swarm', 'scope:shared'] },
        { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:util', 'type:contracts', 'type:data-access', 'type:testing', ...extra] },
        // End-to-end tests drive built apps as processes; they import only shared libs.
        { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:util', 'type:contracts', 'type:data-access', 'type:testing'] },
        { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared'] },
        { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['scope:shared'] },
      ],
    },
  ];
}

const TEST_FILES = ['**/test/**/*.ts', '**/*.spec.ts', 'bench/**/*.ts'];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/generated/**', '.infra/**', 'tmp/**', '**/*.js', '**/*.cjs'],
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ forTests: false }),
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: "Read configuration only in the app's typed config module." },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: TEST_FILES,
    rules: {
      '@nx/enforce-module-boundaries': boundaries({ forTests: true }),
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    // The typed config modules and test setup are the only places that read the environment.
    files: ['**/config/*.config.ts', 'libs/testing/**/*.ts', 'jest*.config.ts', ...TEST_FILES],
    rules: { 'no-restricted-properties': 'off' },
  },
];
