import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineConfig } from 'vitest/config'

// Many tests start real processes (the CLI, session workers, s3rver) that load the TypeScript
// sources and the AWS SDK. Node's compile cache keeps the compiled code across those starts (keyed
// by content, so an edited file is compiled afresh): measured 0.27-0.37 s to 0.15-0.18 s a start.
process.env.NODE_COMPILE_CACHE ??= join(tmpdir(), 'tether-test-node-compile-cache')

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Starts nothing by itself: the first Ceph suite of a run starts one shared cluster.
    globalSetup: ['./tests/support/ceph-global-setup.ts'],
    // Most files wait on child processes, sockets and fsync, not the CPU: vitest's default (one
    // worker per core but one) runs them one at a time on a 2-core machine. Three overlap the waits
    // without starving the CPU-bound S3 protocol tests (four did, on a machine shared with other work).
    maxWorkers: 3,
    // A timeout only catches a hang; on a machine shared with other work the slowest S3 and CLI
    // tests took up to 30 s, so they get room to finish rather than flake.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './tests/support/plain-summary-reporter.ts'],
  },
})
