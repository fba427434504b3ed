/**
 * One device of the sync tests, as a child process: its own local directory (FileSessionRepository
 * plus FileSyncStateStore), the shared S3 bucket through the test's proxy as the remote. Usage:
 *   node sync-device.ts <json DeviceArgs>
 * It restores the session (a fresh agent; NullConversationManager), prints `restored <n>`, runs
 * `turns` turns printing `done <label> <n>` after each (written synchronously, so a kill leaves
 * exactly the acknowledged ones), then with `sync: true` runs `sync()` until it succeeds (or
 * `syncAttempts` run out), printing `syncing`, then `synced <json>` or `sync-failed <code>`. With
 * `printContext` it prints `context <json>` for each message the restored agent holds.
 */
import { join } from 'node:path'
import { z } from 'zod'
import {
  Agent,
  FileSessionRepository,
  FileSyncStateStore,
  NullConversationManager,
  RepositorySessionManager,
  SyncedSessionRepository,
  tool,
} from '../../src/index.ts'
import { messageText } from '../../src/messages/message.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { writeLineNow } from './write-line-now.ts'

export interface DeviceArgs {
  directory: string
  endpoint: string
  bucket: string
  sessionId: string
  label: string
  /** Turn numbers start here, so prompts stay unique across a device's runs. */
  firstTurn: number
  turns: number
  withTools: boolean
  printContext: boolean
  sync: boolean
  syncAttempts?: number
  /** The store's keys; s3rver's fixed ones when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string }
  /** Background sync during the turns (default off: the test decides when syncs happen). */
  autoSync?: boolean
}

const args = JSON.parse(process.argv[2] ?? '{}') as DeviceArgs
const say = writeLineNow

const remote = new S3SessionRepository({
  bucket: args.bucket,
  prefix: 'sync/',
  clientConfig: {
    endpoint: args.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: args.credentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
  },
})
const repository = new SyncedSessionRepository({
  local: new FileSessionRepository({ directory: join(args.directory, 'sessions') }),
  remote,
  state: new FileSyncStateStore({ directory: join(args.directory, 'sessions', '.sync') }),
  autoSync:
    args.autoSync === true
      ? { debounceMs: 20, intervalMs: 500, initialBackoffMs: 50, maxBackoffMs: 500 }
      : false,
})

const lookup = tool({
  name: 'lookup',
  description: 'Looks a key up',
  inputSchema: z.object({ key: z.string() }),
  callback: async ({ key }) => ({ key, length: key.length }),
})
const model = new ScriptedModel({
  fallback: (request) => {
    const last = request.messages.at(-1)
    const prompt = request.messages.findLast((m) => m.role === 'user' && messageText(m) !== '')
    const text = prompt?.content.findLast((block) => block.type === 'text')
    const promptText = text?.type === 'text' ? text.text : '?'
    if (args.withTools && !last?.content.some((block) => block.type === 'toolResult')) {
      return {
        toolUses: [
          { name: 'lookup', input: { key: promptText }, toolUseId: promptText.replaceAll(' ', '-') },
        ],
      }
    }
    return { text: `reply to ${promptText}` }
  },
})
const agent = new Agent({
  model,
  tools: [lookup],
  agentId: 'default',
  conversationManager: new NullConversationManager(),
  sessionManager: new RepositorySessionManager({ sessionId: args.sessionId, repository }),
})
await agent.initialize()
say(`restored ${agent.messages.length}`)
if (args.printContext) {
  const context = agent.messages.map((message) => `context ${JSON.stringify(message)}\n`).join('')
  await new Promise((resolve) => process.stdout.write(context, resolve))
}
for (let turn = args.firstTurn; turn < args.firstTurn + args.turns; turn++) {
  await agent.run(`${args.label} turn ${turn}`)
  say(`done ${args.label} ${turn}`)
}
if (args.sync) {
  say('syncing')
  for (let attempt = 1; ; attempt++) {
    try {
      const report = await repository.sync()
      const agents = report.sessions.flatMap((session) => session.agents)
      say(
        `synced ${JSON.stringify(agents.map(({ pushed, pulled, rewritten, remoteCount }) => ({ pushed, pulled, rewritten, remoteCount })))}`,
      )
      break
    } catch (error) {
      if (attempt >= (args.syncAttempts ?? 1)) {
        say(`sync-failed ${(error as { code?: string }).code ?? 'unknown'} ${JSON.stringify(String(error))}`)
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}
say(`status ${JSON.stringify(await repository.syncStatus({ sessionId: args.sessionId }))}`)
await repository.close()
// The S3 client's keep-alive sockets would hold the process open.
process.exit(0)
