// The scale suite (npm run test:scale): dc-256 up, verify green, down, on the emulator (root).
export default {
  files: ['test/scale/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '10m',
  workerThreads: false,
  concurrency: 1,
};
