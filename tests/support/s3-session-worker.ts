/**
 * A child process that plays one device: it runs agent turns on an S3 session, through its own
 * client and repository. Usage:
 *   node s3-session-worker.ts <endpoint> <bucket> <prefix> <sessionId> <label> <turns> <withTools: 0|1>
 * Writes `done <label> <turn>` after each run and `added <json>` for each message it added.
 */
import { writeSync } from 'node:fs'
import { z } from 'zod'
import { Agent, RepositorySessionManager, tool } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'

const [endpoint, bucket, prefix, sessionId, label, turnsText, withToolsText] = process.argv.slice(2)
if (!endpoint || !bucket || !prefix || !sessionId || !label || !turnsText)
  throw new Error('usage: s3-session-worker.ts endpoint bucket prefix session label turns tools')
const turns = Number(turnsText)
const withTools = withToolsText === '1'

const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
const lookup = tool({
  name: 'lookup',
  description: 'Looks a key up',
  inputSchema: z.object({ key: z.string() }),
  callback: async ({ key }) => {
    await jitter()
    return { key, value: key.length }
  },
})

const model = new ScriptedModel({
  fallback: (request) => {
    const last = request.messages.at(-1)
    const answered = last?.content.some((block) => block.type === 'toolResult')
    const prompt = request.messages.findLast(
      (m) => m.role === 'user' && m.content.some((b) => b.type === 'text'),
    )
    const text = prompt?.content.findLast((block) => block.type === 'text')
    const promptText = text?.type === 'text' ? text.text : '?'
    if (withTools && !answered) {
      // Tool call IDs are unique across processes, as real providers' are.
      const toolUses = ['a', 'b'].map((suffix) => ({
        name: 'lookup',
        input: { key: promptText },
        toolUseId: `${promptText.replaceAll(' ', '-')}-${suffix}`,
      }))
      return { toolUses, chunkDelayMs: 1 }
    }
    return { text: `reply to ${promptText}`, chunkDelayMs: 1 }
  },
})

const agent = new Agent({
  model,
  tools: [lookup],
  agentId: 'default',
  sessionManager: new RepositorySessionManager({
    sessionId,
    repository: new S3SessionRepository({
      bucket,
      prefix,
      clientConfig: {
        endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      },
    }),
  }),
})

// Every message this process added, so the parent can check storage holds each exactly once.
agent.hooks.on('message-added', ({ message }) => {
  writeSync(1, `added ${JSON.stringify(message)}\n`)
})

for (let turn = 0; turn < turns; turn++) {
  await agent.run(`${label} turn ${turn}`)
  writeSync(1, `done ${label} ${turn}\n`)
}
