/**
 * `npm run example -- <name>`: runs examples/<name>.ts with the Node 24 that `npm ci` installed
 * (the `node` devDependency strips the types itself), whatever `node` the machine has.
 * Without a name it lists the examples.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const examplesDirectory = join(import.meta.dirname, '..', 'examples')
const examples = readdirSync(examplesDirectory)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => file.slice(0, -'.ts'.length))
const [name, ...args] = process.argv.slice(2)

if (name === undefined || !examples.includes(name.replace(/\.ts$/, ''))) {
  const problem = name === undefined ? 'Name an example' : `There is no example "${name}"`
  process.stderr.write(`${problem}: npm run example -- <name>. Examples: ${examples.join(', ')}.\n`)
  process.exit(2)
}
const file = join(examplesDirectory, `${name.replace(/\.ts$/, '')}.ts`)
const outcome = spawnSync(process.execPath, [file, ...args], { stdio: 'inherit' })
if (outcome.error) throw outcome.error
process.exit(outcome.status ?? 1)
