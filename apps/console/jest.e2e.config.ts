/* End to end: the built embedded server as a process, simulated agents, the console in headless Chromium. */
export default {
  displayName: 'console:e2e',
  preset: '../../jest.preset.js',
  rootDir: '.',
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 120000,
};
