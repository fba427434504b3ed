import { execFile, execFileSync } from 'node:child_process'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { KeyLayout } from '../../src/storage/s3/s3-key-layout.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

/** The commit whose code wrote tests/fixtures/s3-sessions-v1: tether-agents 0.1's S3 layout. */
const VERSION_0_1 = '94f490c'
const root = fileURLToPath(new URL('../..', import.meta.url))
const script = fileURLToPath(new URL('../support/s3-old-reader-script.ts', import.meta.url))

function historyUnavailable(): string | undefined {
  try {
    execFileSync('git', ['-C', root, 'cat-file', '-e', `${VERSION_0_1}^{commit}`], { stdio: 'ignore' })
    return undefined
  } catch {
    return `this checkout has no commit ${VERSION_0_1} (a shallow clone?), whose code the test runs`
  }
}

const unavailable = historyUnavailable()
if (unavailable) process.stdout.write(`The 0.1-reader test will not run: ${unavailable}.\n`)

/**
 * Format 2 of the slot layout (batches on accepts, empty prepares) must never be misread or written over by
 * the tether-agents 0.1 code that shares a bucket. That code itself is run here: its sources are
 * taken from git, and it opens a log today's code wrote.
 */
describe.skipIf(unavailable !== undefined)('tether-agents 0.1 refuses a format-2 slot log', () => {
  let server: S3TestServer
  let oldSources: string

  beforeAll(async () => {
    server = await startS3Server()
    oldSources = await mkdtemp(join(tmpdir(), 'tether-0.1-'))
    execFileSync('sh', ['-c', `git -C "${root}" archive ${VERSION_0_1} src | tar -x -C "${oldSources}"`])
    await symlink(join(root, 'node_modules'), join(oldSources, 'node_modules'))
  }, 60_000)
  afterAll(async () => {
    await server.stop()
    await rm(oldSources, { recursive: true, force: true })
  })

  it('counting, reading and appending all throw unsupported-schema-version, and nothing is written', async () => {
    const bucket = await server.createBucket()
    const prefix = 'mixed/'
    const today = new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
    const ref = { sessionId: 'shared', agentId: 'default' }
    for (let i = 0; i < 3; i++) {
      await today.appendMessage({
        ...ref,
        message: { role: 'user', content: [{ type: 'text', text: `m${i}` }] },
      })
    }
    const raw = rawBucket(server.clientConfig(), bucket)
    const log = new KeyLayout(prefix).agentLayout(ref).log
    const before = await raw.keys(log)
    // What makes it format 2: an empty prepare (q~, the first append's) and batches named v<ballot>.
    expect(before.some((key) => key.includes('/q~'))).toBe(true)
    expect(before.some((key) => /\/d~\d{12}~v/.test(key))).toBe(true)

    const config = { bucket, prefix, clientConfig: server.clientConfig(), sessionId: ref.sessionId }
    const { stdout } = await promisify(execFile)(process.execPath, [
      script,
      join(oldSources, 'src/storage/s3/index.ts'),
      JSON.stringify(config),
    ])
    expect(JSON.parse(stdout)).toEqual({
      count: { threw: 'unsupported-schema-version' },
      read: { threw: 'unsupported-schema-version' },
      append: { threw: 'unsupported-schema-version' },
    })
    expect(await raw.keys(log)).toEqual(before)
    expect(await today.countMessages(ref)).toBe(3)
  })
})
