// The libvirt smoke test (npm run test:libvirt): real VMs under qemu, minutes long, so
// it is kept out of the default suite.
export default {
  files: ['test/libvirt/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  timeout: '40m',
  workerThreads: false,
  concurrency: 1,
};
