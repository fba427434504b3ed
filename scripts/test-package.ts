/**
 * `npm run test:package`: packs the package, installs the tarball in a scratch project, and checks
 * what a user gets: the core loads with no vendor SDK installed; each subpath and the `tether` bin
 * load once the optional peers are there; publint finds nothing wrong with the package.json.
 * It catches a broken `exports` map or a missing file before a user does.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })

const scratch = mkdtempSync(join(tmpdir(), 'tether-package-'))
try {
  // publint packs without running prepack, so the build it checks must be fresh.
  run('npm', ['run', '--silent', 'build'], root)
  run('npx', ['publint', '--strict'], root)
  const tarball = join(
    scratch,
    run('npm', ['pack', '--silent', '--pack-destination', scratch], root).trim().split('\n').at(-1) ?? '',
  )
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  )
  run('npm', ['install', '--no-audit', '--no-fund', tarball], scratch)

  const check = (code: string) => run(process.execPath, ['--input-type=module', '-e', code], scratch)
  check(`
    const core = await import('tether-agents')
    const testing = await import('tether-agents/testing')
    for (const name of ['Agent', 'RepositorySessionManager', 'FileSessionRepository', 'MemorySessionRepository', 'EncryptedSessionRepository', 'TetherError'])
      if (typeof core[name] !== 'function') throw new Error('tether-agents does not export ' + name)
    const agent = new core.Agent({ model: new testing.ScriptedModel({ fallback: { text: 'packed ok' } }) })
    const result = await agent.run('hi')
    if (result.output !== 'packed ok') throw new Error('unexpected output ' + result.output)
  `)
  console.log('core and testing load without any vendor SDK')

  const peers = ['openai', '@anthropic-ai/sdk', '@aws-sdk/client-bedrock-runtime', '@aws-sdk/client-s3']
  run('npm', ['install', '--no-audit', '--no-fund', ...peers], scratch)
  check(`
    const subpaths = { 'tether-agents/models/openai': 'OpenAIModel', 'tether-agents/models/anthropic': 'AnthropicModel',
      'tether-agents/models/bedrock': 'BedrockModel', 'tether-agents/s3': 'S3SessionRepository' }
    for (const [subpath, name] of Object.entries(subpaths)) {
      const mod = await import(subpath)
      if (typeof mod[name] !== 'function') throw new Error(subpath + ' does not export ' + name)
    }
  `)
  console.log('every subpath loads with its optional peer installed')
  const help = run(join(scratch, 'node_modules', '.bin', 'tether'), ['--help'], scratch)
  if (!help.includes('chat')) throw new Error(`tether --help does not mention chat:\n${help}`)
  console.log('the tether bin runs')
  console.log('package check ok')
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
