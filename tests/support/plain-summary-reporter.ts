import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node'

/**
 * Ends `npm test` with one plain line, `tests: N passed, N failed` (plus skipped and unhandled
 * errors), that any CI can read without knowing vitest's own summary format. The default reporter
 * still prints everything. An unhandled error (a rejected promise or an exception in a callback no
 * test awaited) fails the run, so the line says so: it never reads "0 failed" above a failing exit.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    const counts = { passed: 0, failed: 0, skipped: 0 }
    for (const testModule of testModules) {
      for (const testCase of testModule.children.allTests()) {
        const state = testCase.result().state
        if (state === 'passed') counts.passed++
        else if (state === 'failed') counts.failed++
        else counts.skipped++
      }
      // A file that failed to load has no tests to count, but it is a failure all the same.
      if (testModule.state() === 'failed' && [...testModule.children.allTests()].length === 0) counts.failed++
    }
    counts.failed += unhandledErrors.length
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''
    const unhandled =
      unhandledErrors.length > 0
        ? ` (${unhandledErrors.length} of them unhandled errors outside any test)`
        : ''
    const interrupted = reason === 'interrupted' ? ' (interrupted)' : ''
    process.stdout.write(
      `\ntests: ${counts.passed} passed, ${counts.failed} failed${unhandled}${skipped}${interrupted}\n`,
    )
  }
}
