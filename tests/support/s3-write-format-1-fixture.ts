/**
 * Writes tests/fixtures/s3-sessions-v1/objects.json: every object a session stored with the S3
 * layout of tether-agents 0.1 (slots agreed with Disk Paxos), as written by that version's code.
 * Run once from a checkout of that version's sources (the fixture is committed; rerunning it
 * with today's code would no longer prove anything):
 *   git archive 94f490c src | tar -x -C /tmp/oldsrc && ln -s $PWD/node_modules /tmp/oldsrc/
 *   npx node tests/support/s3-write-format-1-fixture.ts /tmp/oldsrc/src/storage/s3/index.ts
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Message } from '../../src/index.ts'
import { rawBucket } from './s3-raw.ts'
import { startS3Server } from './s3-server.ts'

const source = process.argv[2]
if (!source) throw new Error('usage: s3-write-format-1-fixture.ts <old src/storage/s3/index.ts>')
const { S3SessionRepository } = (await import(
  pathToFileURL(source).href
)) as typeof import('../../src/storage/s3/index.ts')

const text = (role: 'user' | 'assistant', value: string): Message => ({
  role,
  content: [{ type: 'text', text: value }],
})
const server = await startS3Server()
try {
  const bucket = await server.createBucket()
  const repository = new S3SessionRepository({ bucket, prefix: 'app/', clientConfig: server.clientConfig() })
  const sessionId = 'User-42 🦜'
  await repository.createSession({ sessionId })
  const ref = { sessionId, agentId: 'default' }
  // 120 messages in single appends: sealed segments 0 and 1, a tail holding 70..119.
  for (let i = 0; i < 120; i++) {
    await repository.appendMessage({
      ...ref,
      message: text(i % 2 === 0 ? 'user' : 'assistant', `message ${i}`),
    })
  }
  // A redaction in a sealed segment (a segment revision) and one in the tail.
  await repository.updateMessage({ ...ref, index: 3, message: text('assistant', '[redacted 3]') })
  await repository.updateMessage({ ...ref, index: 110, message: text('user', '[redacted 110]') })
  await repository.writeAgent({
    ...ref,
    state: { theme: 'dark' },
    conversationManagerState: { type: 'sliding-window', removedMessageCount: 80 },
    windowStart: 80,
  })
  await repository.createSession({ sessionId: 'second' })
  await repository.appendMessage({ sessionId: 'second', agentId: 'helper', message: text('user', 'hello') })
  const raw = rawBucket(server.clientConfig(), bucket)
  const objects: Record<string, string> = {}
  for (const key of await raw.keys('app/')) objects[key.slice('app/'.length)] = await raw.get(key)
  const target = fileURLToPath(new URL('../fixtures/s3-sessions-v1/objects.json', import.meta.url))
  writeFileSync(target, `${JSON.stringify({ writtenBy: 'tether-agents 0.1 (94f490c)', objects }, null, 1)}\n`)
  process.stdout.write(`${Object.keys(objects).length} objects -> ${target}\n`)
} finally {
  await server.stop()
}
