// The scale suite (npm run test:scale, root): dc-1024 up, verify green, down leaving
// nothing, on the emulator; minutes and ~5 GB, so it needs the host to itself.
export default {
  files: ['test/scale/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '30m',
  workerThreads: false,
  concurrency: 1,
};
