// The IPIP test (npm run test:ipip): the emulator on calico-ipip inside a qemu guest
// whose kernel has `ipip`, minutes long under software emulation, so it is kept out of
// the default suite.
export default {
  files: ['test/ipip/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '30m',
  workerThreads: false,
  concurrency: 1,
};
