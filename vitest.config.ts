import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Starts nothing by itself: the first Ceph suite of a run starts one shared cluster.
    globalSetup: ['./tests/support/ceph-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './tests/support/plain-summary-reporter.ts'],
  },
})
