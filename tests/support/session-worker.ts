/**
 * A child process that runs agent turns on a session, for the crash and concurrency tests: one
 * process, or one device, per worker. Usage:
 *   node session-worker.ts <store-json> <sessionId> <label> <turns> <withTools: 0|1>
 * where <store-json> is {"kind":"file","directory":…} or {"kind":"s3","endpoint":…,"bucket":…,"prefix":…}.
 * After each `run` returns it writes `done <label> <turn>` to stdout synchronously, so the parent
 * knows exactly which turns had completed when it killed the process; `added <json>` for each
 * message it added; and `ready` once restored (with WAIT_FOR_GO=1 it then waits for a line on stdin).
 * WORKER_MANAGER picks the conversation manager (`null`, or `window:<size>`; default: the Agent's
 * default 40-message window). With 0 turns it is a fresh restore: it prints `context <json>` for
 * each message in the restored context, what a user of a new process would see.
 */
import { z } from 'zod'
import {
  Agent,
  type ConversationManager,
  FileSessionRepository,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
  SlidingWindowConversationManager,
  tool,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { LARGE_TOOL_NOTE, wantsLargeResult } from './large-tool-note.ts'
import type { WorkerStore } from './run-session-worker.ts'
import { writeLineNow } from './write-line-now.ts'

const [storeJson, sessionId, label, turnsText, withToolsText] = process.argv.slice(2)
if (!storeJson || !sessionId || !label || !turnsText) {
  throw new Error('usage: session-worker.ts store-json session label turns tools')
}
const store = JSON.parse(storeJson) as WorkerStore
const turns = Number(turnsText)
const withTools = withToolsText === '1'

async function open(store: WorkerStore): Promise<SessionRepository> {
  if (store.kind === 'file') return new FileSessionRepository({ directory: store.directory })
  // Loaded only for S3 workers, as an app would: the AWS SDK stays out of file workers.
  const { S3SessionRepository } = await import('../../src/storage/s3/index.ts')
  return new S3SessionRepository({
    bucket: store.bucket,
    prefix: store.prefix,
    clientConfig: {
      endpoint: store.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: store.credentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
  })
}

const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
const lookup = tool({
  name: 'lookup',
  description: 'Looks a key up',
  inputSchema: z.object({ key: z.string() }),
  callback: async ({ key }) => {
    await jitter()
    return wantsLargeResult(key)
      ? { key, value: key.length, note: LARGE_TOOL_NOTE }
      : { key, value: key.length }
  },
})

const model = new ScriptedModel({
  fallback: (request) => {
    const last = request.messages.at(-1)
    const answered = last?.content.some((block) => block.type === 'toolResult')
    const prompt = request.messages.findLast(
      (m) => m.role === 'user' && m.content.some((b) => b.type === 'text'),
    )
    // The newest prompt: after a crash, an unanswered prompt and the next one share a user turn.
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

function conversationManager(spec: string | undefined): ConversationManager | undefined {
  if (spec === undefined || spec === '') return undefined
  if (spec === 'null') return new NullConversationManager()
  return new SlidingWindowConversationManager({ windowSize: Number(spec.replace('window:', '')) })
}
const manager = conversationManager(process.env.WORKER_MANAGER)

const agent = new Agent({
  model,
  tools: [lookup],
  ...(manager ? { conversationManager: manager } : {}),
  agentId: 'default',
  sessionManager: new RepositorySessionManager({ sessionId, repository: await open(store) }),
})

// Every message this process added, so the parent can check storage holds each exactly once.
agent.hooks.on('message-added', ({ message }) => {
  writeLineNow(`added ${JSON.stringify(message)}`)
})

// Restored: say so, and with WAIT_FOR_GO wait for the parent's go, so that several workers start
// their turns at the same moment however long each took to start.
await agent.initialize()
if (turns === 0) {
  // Through the stream: one long write, flushed before the lines written with writeLineNow.
  const context = agent.messages.map((message) => `context ${JSON.stringify(message)}\n`).join('')
  await new Promise((resolve) => process.stdout.write(context, resolve))
}
writeLineNow('ready')
if (process.env.WAIT_FOR_GO === '1') {
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()))
  process.stdin.pause()
}

for (let turn = 0; turn < turns; turn++) {
  await agent.run(`${label} turn ${turn}`)
  writeLineNow(`done ${label} ${turn}`)
}
