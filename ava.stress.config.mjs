// The long leak stress suite (npm run test:stress): random signals during `up`, concurrent
// up/up, up/down, down/down, verify/down, damaged and hostile state, colliding names, each
// followed by an exact inventory. STRESS_ROUNDS (default 16) rounds, STRESS_SEED to replay.
export default {
  files: ['test/stress/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '5m',
  workerThreads: false,
  concurrency: 1,
};
