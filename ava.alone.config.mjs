// Tests that must have the host to themselves (npm run test:alone; ./test.sh runs them in
// a pass of their own after the default suite): dc-256 raises host-wide kernel settings
// (the neighbour limits) that the leak tests compare, and takes both cores while it runs.
export default {
  files: ['test/alone/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '10m',
  workerThreads: false,
  concurrency: 1,
};
