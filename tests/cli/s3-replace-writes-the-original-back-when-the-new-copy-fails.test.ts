import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.ts'
import { S3RVER_CREDENTIALS, type S3TestServer, startS3Server } from '../support/s3-server.ts'

let server: S3TestServer
let proxy: S3Proxy
/**
 * The CLI's temporary directory (TMPDIR), this file's alone: other test files replace sessions
 * named user-7 at the same time, and their saved copies would come and go in a shared one.
 */
let temp: string
beforeAll(async () => {
  server = await startS3Server()
  proxy = await startS3Proxy(server.port)
  temp = await mkdtemp(join(tmpdir(), 'tether-replace-'))
  env.TMPDIR = temp
})
afterAll(async () => {
  await proxy.stop()
  await server.stop()
  await rm(temp, { recursive: true, force: true })
})

const env: Record<string, string> = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
}

describe('import --replace into S3 (which cannot rename a session)', () => {
  it('a write failing part way through the new copy puts the original back, whole, and says so', async () => {
    const bucket = await server.createBucket()
    const repository = new S3SessionRepository({ bucket, prefix: 't', clientConfig: server.clientConfig() })
    await seedChat(repository, 'user-7', 6) // the original: 12 messages
    const store = ['--store', `s3://${bucket}/t`, '--endpoint', proxy.endpoint]
    const before = await runTether(['sessions', 'show', 'user-7', ...store], { env })
    expect(before.stdout).toContain('agent default: 12 messages')

    const other = await server.createBucket()
    await seedChat(
      new S3SessionRepository({ bucket: other, prefix: 't', clientConfig: server.clientConfig() }),
      'user-7',
      8,
    )
    const replacement = await runTether(
      ['sessions', 'export', 'user-7', '--store', `s3://${other}/t`, '--endpoint', server.endpoint],
      { env },
    )
    expect(replacement.code).toBe(0)

    // The 8th write of the new copy is refused (as a full or failing store would), once. Not
    // counted: prepares (q~), since how many go out depends on which slots a writer won.
    let writes = 0
    let armed = false
    proxy.setFaults((request) => {
      if (request.operation === 'DELETE') armed = true
      if (!armed || request.operation !== 'PUT' || !request.key.includes('user-7')) return undefined
      if (request.key.includes('/q~')) return undefined
      writes++
      return writes === 8 ? { kind: 'status', status: 400, code: 'InvalidRequest' } : undefined
    })
    const failed = await runTether(['sessions', 'import', '--replace', ...store], {
      env,
      input: replacement.stdout,
    })
    proxy.setFaults(undefined)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(
      /Replacing session "user-7" failed; the original was written back \(a copy stays at .*tether-replaced-user-7-.*\.json\)/,
    )
    const after = await runTether(['sessions', 'show', 'user-7', ...store], { env })
    expect(after.stdout.replace(/created \S+/, '')).toBe(before.stdout.replace(/created \S+/, ''))

    const savedAt = /a copy stays at (\S+)\)/.exec(failed.stderr)?.[1] ?? ''
    expect(savedAt.startsWith(temp)).toBe(true)
    expect((await stat(savedAt)).mode & 0o777).toBe(0o600)
    expect(await readFile(savedAt, 'utf8')).toContain('"sessionId": "user-7"')
    await rm(savedAt)

    const savedCopies = async () =>
      (await readdir(temp)).filter((name) => name.startsWith('tether-replaced-user-7-'))
    const earlier = await savedCopies()
    const done = await runTether(['sessions', 'import', '--replace', ...store], {
      env,
      input: replacement.stdout,
    })
    expect(done.code, done.stderr).toBe(0)
    const shown = await runTether(['sessions', 'show', 'user-7', ...store], { env })
    expect(shown.stdout).toContain('agent default: 16 messages')
    // Success leaves no saved copy behind.
    expect(await savedCopies()).toEqual(earlier)
  }, 120_000)
})
