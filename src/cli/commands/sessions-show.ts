import { z } from 'zod'
import type { ContentBlock } from '../../messages/message.ts'
import { DamagedRecordError } from '../../session/session-errors.ts'
import type { MessageRecord } from '../../session/session-records.ts'
import type { AgentRef, SessionRepository } from '../../session/session-repository.ts'
import { DecryptionError } from '../../storage/decryption-error.ts'
import { defineCommand } from '../cli-command.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { type Progress, startProgress } from '../progress.ts'
import { readAllMessages, requireSession } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'

export interface ShownMessage {
  index: number
  role?: MessageRecord['message']['role']
  createdAt?: string
  content?: ContentBlock[]
  /** The record replaces a damaged one (a repair); the damaged bytes were kept at `keptAs`. */
  damaged?: { reason: string; keptAs: string }
  /** The record cannot be read now; `tether sessions repair` keeps it aside. */
  unreadable?: string
  /** Refused under encryption (moved, altered, plaintext, wrong key): never shown, never repaired. */
  refused?: string
}

export interface ShownAgent {
  agentId: string
  windowStart: number
  messages: ShownMessage[]
}

export const command = defineCommand({
  input: z.object({ id: sessionId, ...storeFlags, agent: z.string().min(1).optional() }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    const session = await requireSession(store, input.id)
    const records = (await store.repository.listAgents({ sessionId: input.id })).filter(
      (agent) => input.agent === undefined || agent.agentId === input.agent,
    )
    const counts = await Promise.all(
      records.map((agent) => store.repository.countMessages({ sessionId: input.id, agentId: agent.agentId })),
    )
    const progress = await startProgress(
      context,
      'Reading messages',
      counts.reduce((sum, count) => sum + count, 0),
    )
    const agents: ShownAgent[] = []
    try {
      for (const [position, agent] of records.entries()) {
        const ref = { sessionId: input.id, agentId: agent.agentId }
        const messages = await readTolerant(store.repository, ref, counts[position] ?? 0, progress)
        agents.push({ agentId: agent.agentId, windowStart: agent.windowStart, messages })
      }
    } finally {
      progress.stop()
    }
    return {
      data: { sessionId: session.sessionId, createdAt: session.createdAt, store: store.label, agents },
    }
  },

  *render({ sessionId, createdAt, store, agents }) {
    yield `session ${sessionId} in ${store}, created ${createdAt}`
    if (agents.length === 0) yield '(no messages)'
    for (const agent of agents) {
      yield ''
      yield `agent ${agent.agentId}: ${agent.messages.length} messages, context window from #${agent.windowStart}`
      for (const message of agent.messages) yield* describe(message, sessionId)
    }
  },
})

/** Reads page by page; when a page holds a damaged record, reads that page one record at a time. */
async function readTolerant(
  repository: SessionRepository,
  ref: AgentRef,
  count: number,
  progress: Progress,
): Promise<ShownMessage[]> {
  try {
    return (await readAllMessages(repository, ref, progress)).map(shown)
  } catch (error) {
    if (!(error instanceof DamagedRecordError || error instanceof DecryptionError)) throw error
  }
  const messages: ShownMessage[] = []
  for (let index = 0; index < count; index++) {
    try {
      const [record] = await repository.readMessages({ ...ref, offset: index, limit: 1 })
      if (record) messages.push(shown(record))
    } catch (error) {
      if (error instanceof DecryptionError) messages.push({ index, refused: error.reason })
      else if (error instanceof DamagedRecordError)
        messages.push({ index, unreadable: `${error.reason} at ${error.location}` })
      else throw error
    }
  }
  return messages
}

function shown(record: MessageRecord): ShownMessage {
  return {
    index: record.index,
    role: record.message.role,
    createdAt: record.createdAt,
    content: record.message.content,
    ...(record.damaged === undefined ? {} : { damaged: record.damaged }),
  }
}

function* describe(message: ShownMessage, sessionId: string): Iterable<string> {
  const mark = message.damaged
    ? `  [repaired: ${message.damaged.reason}; the damaged bytes are at ${message.damaged.keptAs}]`
    : ''
  if (message.refused !== undefined) {
    yield `#${message.index}  [refused: ${message.refused}; not shown, check --key-file]`
    return
  }
  if (message.unreadable !== undefined) {
    yield `#${message.index}  [unreadable: ${message.unreadable}; run \`tether sessions repair ${sessionId}\`]`
    return
  }
  yield `#${message.index}  ${message.role ?? ''}${mark}`
  for (const block of message.content ?? []) {
    for (const line of blockLines(block)) yield `    ${line}`
  }
}

function blockLines(block: ContentBlock): string[] {
  switch (block.type) {
    case 'text':
      return block.text.split('\n')
    case 'toolUse':
      return [`-> tool call ${block.name} ${JSON.stringify(block.input)} [${block.toolUseId}]`]
    case 'toolResult': {
      const text = block.content
        .map((part) => (part.type === 'text' ? part.text : JSON.stringify(part.json)))
        .join(' ')
      return [`<- tool result [${block.toolUseId}] ${block.status}: ${text}`]
    }
    case 'image':
      return [`[image ${block.mediaType}, ${Math.floor((block.data.length * 3) / 4)} bytes]`]
    case 'reasoning':
      return block.text === ''
        ? ['(reasoning, redacted)']
        : block.text.split('\n').map((line) => `(reasoning) ${line}`)
  }
}
