import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { runTether, tetherJson } from '../support/cli-run.ts'
import { fileStore, seedChat, seedToolConversation } from '../support/cli-seed-sessions.ts'
import { type StoreUnderTest, sessionsCommandsContract } from '../support/cli-sessions-contract.ts'
import { openAIStream } from '../support/openai-wire-format.ts'
import { S3RVER_CREDENTIALS, type S3TestServer, startS3Server } from '../support/s3-server.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { WireServer } from '../support/wire-server.ts'

let server: S3TestServer
beforeAll(async () => {
  server = await startS3Server()
})
afterAll(() => server.stop())

/** What the CLI needs to reach s3rver: the usual AWS environment variables, as a user would set them. */
const awsEnvironment = () => ({
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
})

async function s3Store(): Promise<StoreUnderTest> {
  const bucket = await server.createBucket()
  const url = `s3://${bucket}/tether`
  return {
    args: ['--store', url, '--endpoint', server.endpoint],
    toArgs: ['--to', url, '--to-endpoint', server.endpoint],
    label: url,
    repository: new S3SessionRepository({ bucket, prefix: 'tether', clientConfig: server.clientConfig() }),
    env: awsEnvironment(),
    clockResolutionMs: 1000,
  }
}

sessionsCommandsContract('an S3 store (s3rver on loopback)', s3Store)

describe('tether with an S3 store', () => {
  const tempDirectory = useTempDirectories()

  it('copy --all migrates every session from a file store to S3, and the S3 copies verify clean', async () => {
    const directory = await tempDirectory()
    await seedToolConversation(fileStore(directory), 'user-123')
    await seedChat(fileStore(directory), 'user-7', 3)
    const s3 = await s3Store()
    const copied = await tetherJson<{ copied: { sessionId: string; messages: number }[] }>(
      ['sessions', 'copy', '--all', '--store', `file:${directory}`, ...s3.toArgs],
      { env: awsEnvironment() },
    )
    // The file store lists the most recently active first: user-7 was written last.
    expect(copied.copied.map(({ sessionId, messages }) => [sessionId, messages])).toEqual([
      ['user-7', 6],
      ['user-123', 4],
    ])
    const stored = await s3.repository.readMessages({ sessionId: 'user-123', agentId: 'default' })
    expect(stored.map((record) => record.message.content[0]?.type)).toEqual([
      'text',
      'toolUse',
      'toolResult',
      'text',
    ])
    const verified = await runTether(['sessions', 'verify', ...s3.args], { env: awsEnvironment() })
    expect(verified.stdout).toBe(`checked 2 sessions in ${s3.label}: 2 ok, 0 damaged\n`)
    expect(verified.code).toBe(0)
  })

  it('chat restores a session kept in S3 in a second run', async () => {
    const wire = await WireServer.start()
    try {
      const s3 = await s3Store()
      const args = [
        'chat',
        '--session',
        'user-123',
        ...s3.args,
        '--provider',
        'openai',
        '--base-url',
        `${wire.url}/v1`,
        '--model',
        'llama3.2',
      ]
      wire.reply(openAIStream({ text: 'Noted: blue.' }), openAIStream({ text: 'Blue.' }))
      const first = await runTether(args, { input: 'My favourite colour is blue.\n', env: awsEnvironment() })
      expect(first.stderr).toBe(`new session user-123 in ${s3.label}\n`)
      const second = await runTether(args, { input: 'What is my favourite colour?\n', env: awsEnvironment() })
      expect(second.stderr).toBe('restored 2 messages from user-123\n')
      expect(second.stdout).toBe('Blue.\n')
      expect(wire.body(1).messages).toEqual([
        { role: 'user', content: 'My favourite colour is blue.' },
        { role: 'assistant', content: 'Noted: blue.' },
        { role: 'user', content: 'What is my favourite colour?' },
      ])
    } finally {
      await wire.close()
    }
  })

  it('an unreachable S3 endpoint fails with one line and exit 1', async () => {
    const run = await runTether(
      ['sessions', 'list', '--store', 's3://nowhere/x', '--endpoint', 'http://127.0.0.1:9'],
      {
        env: awsEnvironment(),
      },
    )
    expect(run.code).toBe(1)
    expect(run.stderr.split('\n').filter(Boolean)).toHaveLength(1)
    expect(run.stderr).toMatch(/^tether: Could not /)
  })
})
