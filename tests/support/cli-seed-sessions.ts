import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { z } from 'zod'
import { Agent, FileSessionRepository, RepositorySessionManager, tool } from '../../src/index.ts'
import type { SessionRepository } from '../../src/session/session-repository.ts'
import { encodeStorageName } from '../../src/storage/storage-name.ts'
import { ScriptedModel } from '../../src/testing/index.ts'

const add = tool({
  name: 'add',
  description: 'Adds two numbers.',
  inputSchema: z.object({ a: z.number(), b: z.number() }),
  callback: ({ a, b }) => ({ sum: a + b }),
})

/**
 * A session written the way an application writes one: an Agent with a tool and a session manager.
 * Four messages: the prompt, a tool call, its result, the answer.
 */
export async function seedToolConversation(repository: SessionRepository, sessionId: string): Promise<void> {
  const model = new ScriptedModel({
    script: [
      { toolUses: [{ name: 'add', input: { a: 2, b: 3 }, toolUseId: 'call_1' }] },
      { text: '2 + 3 = 5.' },
    ],
  })
  const agent = new Agent({
    model,
    tools: [add],
    sessionManager: new RepositorySessionManager({ sessionId, repository }),
  })
  await agent.run('What is 2 + 3?')
}

/** A session of `turns` plain prompt/answer turns (2 messages each). */
export async function seedChat(repository: SessionRepository, sessionId: string, turns = 1): Promise<void> {
  const model = new ScriptedModel({ fallback: (request) => ({ text: `Answer ${request.messages.length}.` }) })
  const agent = new Agent({ model, sessionManager: new RepositorySessionManager({ sessionId, repository }) })
  for (let turn = 1; turn <= turns; turn++) await agent.run(`Question ${turn}?`)
}

/** A session whose process died while a tool ran: the call is stored, its result never was. */
export async function seedInterruptedToolCall(
  repository: SessionRepository,
  sessionId: string,
): Promise<void> {
  const ref = { sessionId, agentId: 'default' }
  await repository.createSession({ sessionId })
  await repository.appendMessage({
    ...ref,
    message: { role: 'user', content: [{ type: 'text', text: 'Add 1 and 2.' }] },
  })
  await repository.appendMessage({
    ...ref,
    message: {
      role: 'assistant',
      content: [{ type: 'toolUse', toolUseId: 'call_9', name: 'add', input: { a: 1, b: 2 } }],
    },
  })
  await repository.writeAgent({ ...ref, state: {}, conversationManagerState: null, windowStart: 0 })
}

/** Overwrites a stored message record with bytes that are not a record (a torn write, a bad disk). */
export async function damageMessageFile(directory: string, sessionId: string, index: number): Promise<void> {
  tamper(
    directory,
    sessionId,
    'UPDATE messages SET record = ? WHERE idx = ?',
    Buffer.from('{"schemaVersion":1,"sessi'),
    index,
  )
}

/**
 * Overwrites a session's own record (row 0; the agent roster in row 1 stays) with bytes that are
 * not a record; returns the file's path.
 */
export async function damageSessionRecord(directory: string, sessionId: string): Promise<string> {
  tamper(
    directory,
    sessionId,
    'UPDATE session SET record = ? WHERE id = 0',
    Buffer.from('{"schemaVersion":1,'),
  )
  return join(directory, encodeStorageName(sessionId), 'session.db')
}

/** Overwrites the agent roster (which agents a file session holds; row 1 beside the record). */
export async function damageAgentRoster(directory: string, sessionId: string): Promise<void> {
  tamper(directory, sessionId, 'UPDATE session SET record = ? WHERE id = 1', Buffer.from('{"agents":'))
}

/** Overwrites an agent's record with bytes that are not a record. */
export async function damageAgentRecord(
  directory: string,
  sessionId: string,
  agentId = 'default',
): Promise<void> {
  tamper(
    directory,
    sessionId,
    'UPDATE agents SET record = ? WHERE agent_id = ?',
    Buffer.from('garbage'),
    agentId,
  )
}

/** The stored bytes of a session's own record (row 0 of its database), as text. */
export function storedSessionRecord(directory: string, sessionId: string): string {
  const db = new DatabaseSync(join(directory, encodeStorageName(sessionId), 'session.db'))
  try {
    const row = db.prepare('SELECT record FROM session WHERE id = 0').get()
    return Buffer.from(row?.record as Uint8Array).toString('utf8')
  } finally {
    db.close()
  }
}

/** Changes a row of a file session's database behind the repository's back. */
function tamper(
  directory: string,
  sessionId: string,
  sql: string,
  ...values: (Uint8Array | number | string)[]
): void {
  const db = new DatabaseSync(join(directory, encodeStorageName(sessionId), 'session.db'))
  try {
    db.prepare(sql).run(...values)
  } finally {
    db.close()
  }
}

export function fileStore(directory: string): FileSessionRepository {
  return new FileSessionRepository({ directory })
}
