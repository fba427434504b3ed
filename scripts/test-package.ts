/**
 * `npm run test:package`: packs the package, installs the tarball in a scratch project, and checks
 * what a user gets:
 * - the core and `testing` load, by `import` and by `require`, with no vendor SDK installed;
 * - every entry point in the `exports` map loads by `import` and by `require` (Node >= 22.12 loads
 *   ES modules with `require`) once the optional peers are installed, at the versions the lockfile
 *   pins (so a registry hiccup or a new major cannot change the result);
 * - a TypeScript consumer project that imports every entry point compiles without `@types/node`;
 * - the `tether` bin runs, the tarball holds LICENSE and no source maps, and publint finds nothing.
 * It catches a broken `exports` map or a missing file before a user does.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string
  exports: Record<string, unknown>
  peerDependencies: Record<string, string>
}
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>
}
/** `name@version` as the lockfile pins it (the devDependency the tests ran against). */
const pinned = (name: string) => {
  const version = lock.packages[`node_modules/${name}`]?.version
  if (version === undefined) throw new Error(`package-lock.json pins no version of ${name}: run npm install`)
  return `${name}@${version}`
}

/** What each entry point must export (a class or function), to prove it is the right module. */
const expected: Record<string, string[]> = {
  'tether-agents': [
    'Agent',
    'RepositorySessionManager',
    'FileSessionRepository',
    'MemorySessionRepository',
    'EncryptedSessionRepository',
    'TetherError',
  ],
  'tether-agents/testing': ['ScriptedModel', 'sessionRepositoryContract'],
  'tether-agents/models/openai': ['OpenAIModel'],
  'tether-agents/models/anthropic': ['AnthropicModel'],
  'tether-agents/models/bedrock': ['BedrockModel'],
  'tether-agents/s3': ['S3SessionRepository'],
}
const entryPoints = Object.keys(manifest.exports)
  .filter((subpath) => subpath !== './package.json')
  .map((subpath) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`))
for (const entry of entryPoints) {
  if (!(entry in expected))
    throw new Error(`scripts/test-package.ts does not know what ${entry} exports: add it`)
}

/** Type-checks a consumer project that imports `entries` and uses the core's main types. */
function compileConsumer(name: string, entries: string[], types: string[]): void {
  const dir = join(scratch, `consumer-${name}`)
  mkdirSync(dir)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        // What a browser, edge or Deno-style project has: the web platform's types (AbortSignal,
        // fetch), which the vendor SDKs' typings need too, and no Node globals unless `types` says.
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types,
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        noEmit: true,
      },
      include: ['consumer.ts'],
    }),
  )
  writeFileSync(
    join(dir, 'consumer.ts'),
    `${entries.map((entry, i) => `import * as entry${i} from '${entry}'`).join('\n')}
import { Agent, FileSessionRepository, RepositorySessionManager, type AgentStreamEvent, type SessionRepository } from 'tether-agents'
import { ScriptedModel } from 'tether-agents/testing'
export const all = [${entries.map((_, i) => `entry${i}`).join(', ')}]
const repository: SessionRepository = new FileSessionRepository({ directory: 'sessions' })
const agent = new Agent({
  model: new ScriptedModel(),
  sessionManager: new RepositorySessionManager({ sessionId: 'user-1', repository }),
})
export async function main(): Promise<string> {
  const events: AgentStreamEvent[] = []
  for await (const event of agent.stream('hi')) events.push(event)
  return (await agent.run('again')).output
}
`,
  )
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json')], scratch)
}

const scratch = mkdtempSync(join(tmpdir(), 'tether-package-'))
try {
  // publint packs without running prepack, so the build it checks must be fresh.
  run('npm', ['run', '--silent', 'build'], root)
  run(join(root, 'node_modules', '.bin', 'publint'), ['--strict'], root)
  console.log('publint: clean')
  const packed = run('npm', ['pack', '--silent', '--pack-destination', scratch], root)
    .trim()
    .split('\n')
    .at(-1)
  const tarball = join(scratch, packed ?? '')
  const contents = run('tar', ['-tzf', tarball], scratch).split('\n')
  if (!contents.includes('package/LICENSE')) throw new Error('the tarball has no LICENSE')
  const maps = contents.filter((file) => file.endsWith('.map'))
  if (maps.length > 0) throw new Error(`the tarball ships source maps whose sources it lacks: ${maps[0]}`)
  console.log(`tarball: ${contents.length - 1} files, LICENSE, no source maps`)

  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  )
  run('npm', ['install', '--no-audit', '--no-fund', tarball], scratch)

  /** Loads each entry with `import` (an ES module) and with `require` (a CommonJS one), and runs a turn. */
  const load = (entries: string[]) => {
    const checks = JSON.stringify(Object.fromEntries(entries.map((entry) => [entry, expected[entry]])))
    writeFileSync(
      join(scratch, 'check-import.mjs'),
      `const checks = ${checks}
      for (const [entry, names] of Object.entries(checks)) {
        const mod = await import(entry)
        for (const name of names) if (typeof mod[name] !== 'function') throw new Error('import ' + entry + ' lacks ' + name)
      }
      const { Agent } = await import('tether-agents')
      const { ScriptedModel } = await import('tether-agents/testing')
      const result = await new Agent({ model: new ScriptedModel({ fallback: { text: 'packed ok' } }) }).run('hi')
      if (result.output !== 'packed ok') throw new Error('unexpected output ' + result.output)\n`,
    )
    writeFileSync(
      join(scratch, 'check-require.cjs'),
      `const checks = ${checks}
      for (const [entry, names] of Object.entries(checks)) {
        const mod = require(entry)
        for (const name of names) if (typeof mod[name] !== 'function') throw new Error('require ' + entry + ' lacks ' + name)
      }\n`,
    )
    run(process.execPath, ['check-import.mjs'], scratch)
    run(process.execPath, ['check-require.cjs'], scratch)
    console.log(`import and require (Node ${process.versions.node}): ${entries.join(', ')}`)
  }
  load(['tether-agents', 'tether-agents/testing'])
  console.log('  (the core and testing need no vendor SDK)')

  const peers = Object.keys(manifest.peerDependencies).map(pinned)
  run('npm', ['install', '--no-audit', '--no-fund', ...peers], scratch)
  console.log(`peers at the locked versions: ${peers.join(', ')}`)
  load(entryPoints)

  // TypeScript consumers. skipLibCheck stays off, or errors inside our .d.ts files would go unreported.
  // The entries on the AWS SDK need Node's types because the AWS SDK's own typings do (Buffer,
  // node:stream); every other entry must compile with no @types/node at all.
  const awsEntries = ['tether-agents/models/bedrock', 'tether-agents/s3']
  const webEntries = entryPoints.filter((entry) => !awsEntries.includes(entry))
  if (existsSync(join(scratch, 'node_modules', '@types', 'node'))) {
    throw new Error('a peer installed @types/node, so the check without it would prove nothing')
  }
  compileConsumer('web', webEntries, [])
  console.log(`tsc without @types/node: ${webEntries.join(', ')}`)
  run('npm', ['install', '--no-audit', '--no-fund', pinned('@types/node')], scratch)
  compileConsumer('node', entryPoints, ['node'])
  console.log(`tsc with @types/node (the AWS SDK's typings need it): ${entryPoints.join(', ')}`)

  const help = run(join(scratch, 'node_modules', '.bin', 'tether'), ['--help'], scratch)
  if (!help.includes('chat')) throw new Error(`tether --help does not mention chat:\n${help}`)
  console.log('the tether bin runs')
  console.log('package check ok')
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
