import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

const root = join(import.meta.dirname, '..', '..')

it('the plain summary line counts an unhandled error as a failure, matching the exit code', async () => {
  const vitest = join(root, 'node_modules', '.bin', 'vitest')
  const config = join(root, 'tests', 'fixtures', 'leaky-suite', 'vitest.config.ts')
  const outcome = await promisify(execFile)(vitest, ['run', '--config', config], { cwd: root }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  )
  expect(outcome.code).toBe(1)
  expect(outcome.stdout).toContain('tests: 1 passed, 1 failed (1 of them unhandled errors outside any test)')
})
