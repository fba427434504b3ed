/**
 * Run by tests/storage/s3-version-0-1-refuses-format-2-logs.test.ts in a child process:
 *   node s3-old-reader-script.ts <old src/storage/s3/index.ts> <config JSON>
 * Opens a session with tether-agents 0.1's S3SessionRepository and tries to count, read and
 * append; prints one JSON line: per operation, what it returned or the code of what it threw.
 */
import { pathToFileURL } from 'node:url'
import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { writeLineNow } from './write-line-now.ts'

const [source, configJson] = process.argv.slice(2)
if (!source || !configJson) throw new Error('usage: s3-old-reader-script.ts <old index.ts> <config JSON>')
const config = JSON.parse(configJson) as {
  bucket: string
  prefix: string
  clientConfig: S3ClientConfig
  sessionId: string
}
const { S3SessionRepository } = (await import(
  pathToFileURL(source).href
)) as typeof import('../../src/storage/s3/index.ts')
const repository = new S3SessionRepository({
  bucket: config.bucket,
  prefix: config.prefix,
  clientConfig: config.clientConfig,
})
const ref = { sessionId: config.sessionId, agentId: 'default' }

async function outcome(run: () => Promise<unknown>): Promise<{ returned: unknown } | { threw: string }> {
  try {
    return { returned: await run() }
  } catch (error) {
    return { threw: (error as { code?: string }).code ?? String(error) }
  }
}

const result = {
  count: await outcome(() => repository.countMessages(ref)),
  read: await outcome(async () => (await repository.readMessages(ref)).length),
  append: await outcome(async () => {
    const record = await repository.appendMessage({
      ...ref,
      message: { role: 'user', content: [{ type: 'text', text: 'from 0.1' }] },
    })
    return record.index
  }),
}
writeLineNow(JSON.stringify(result))
