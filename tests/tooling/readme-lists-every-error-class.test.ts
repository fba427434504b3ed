import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import * as core from '../../src/index.ts'
import { TetherError } from '../../src/index.ts'

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8')

it("the README's error table lists every TetherError class the package exports, with its code", () => {
  const errorClasses = Object.entries(core).filter(
    ([, value]) => typeof value === 'function' && value.prototype instanceof TetherError,
  )
  expect(errorClasses.length).toBeGreaterThanOrEqual(15)
  const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('## Layout'))
  for (const [name] of errorClasses) {
    expect(section, `README's error table misses ${name}`).toMatch(
      new RegExp(`\\| \`${name}\` +\\| \`[a-z-]+\``),
    )
  }
})
