// NetworkPolicy and Services on a real emulator lab (npm run test:policy, root, about a
// minute): kept out of the default suite for the CI time budget.
export default {
  files: ['test/policy/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '5m',
  workerThreads: false,
  concurrency: 1,
};
