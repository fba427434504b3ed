import assert from 'node:assert/strict'
import { ConfigurationError } from '../errors/configuration-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { Message } from '../messages/message.ts'
import { RecordNotFoundError, SessionConflictError } from '../session/session-errors.ts'
import type { SessionRepository } from '../session/session-repository.ts'

/** Opens a handle on one shared store: two calls must see the same data (as two processes would). */
export type OpenRepository = () => SessionRepository | Promise<SessionRepository>

export interface ContractCase {
  name: string
  run: () => Promise<void>
}

/** Session IDs every repository must keep distinct and give back unchanged. */
export const TRICKY_SESSION_IDS = [
  'user-42',
  'chat-7d3c1f7e-1b2a-4c55-9d0e-3f6a2b1c9e80',
  'support-ticket-9',
  '../../etc',
  'a/b',
  'C:\\x',
  '.',
  '..',
  '🦜 parrot',
  'User-42',
  'USER-42',
  'con',
  'x'.repeat(1000),
  `${'x'.repeat(999)}y`,
]

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Lists every session, following `nextCursor`, with a small page size. */
async function listAll(repo: SessionRepository, limit: number) {
  const sessions = []
  let cursor: string | undefined
  do {
    const page = await repo.listSessions({ limit, ...(cursor === undefined ? {} : { cursor }) })
    assert.ok(page.sessions.length <= limit, `a page of ${page.sessions.length} for limit ${limit}`)
    sessions.push(...page.sessions)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return sessions
}

const text = (value: string, role: Message['role'] = 'user'): Message => ({
  role,
  content: [{ type: 'text', text: value }],
})

/**
 * The `SessionRepository` contract as runnable cases, framework-free (node:assert), so any test
 * runner can use them:
 *
 *   for (const c of sessionRepositoryContract(() => new MyRepository(config))) it(c.name, c.run)
 *
 * `open` is called once or twice per case and must return handles on the same, initially empty
 * store; create a fresh store per case (e.g. a new temp directory) when `fresh` is called.
 */
export function sessionRepositoryContract(
  fresh: () => OpenRepository | Promise<OpenRepository>,
): ContractCase[] {
  const withStore = (run: (open: OpenRepository) => Promise<void>) => async () => run(await fresh())
  const agent = { sessionId: 's1', agentId: 'default' }

  return [
    {
      name: 'creating a session is idempotent and reading an absent one returns null',
      run: withStore(async (open) => {
        const repo = await open()
        assert.equal(await repo.readSession({ sessionId: 'nope' }), null)
        const first = await repo.createSession({ sessionId: 's1' })
        const second = await repo.createSession({ sessionId: 's1' })
        assert.deepEqual(second, first)
        assert.equal(first.schemaVersion, 1)
        assert.deepEqual(await repo.readSession({ sessionId: 's1' }), first)
      }),
    },
    {
      name: 'any non-empty string is a distinct session ID, listed back unchanged',
      run: withStore(async (open) => {
        const repo = await open()
        for (const [i, sessionId] of TRICKY_SESSION_IDS.entries()) {
          await repo.createSession({ sessionId })
          await repo.appendMessage({ sessionId, agentId: 'default', message: text(`message ${i}`) })
        }
        const listed: string[] = []
        let cursor: string | undefined
        do {
          const page = await repo.listSessions({ limit: 5, ...(cursor === undefined ? {} : { cursor }) })
          assert.ok(page.sessions.length <= 5)
          listed.push(...page.sessions.map((session) => session.sessionId))
          cursor = page.nextCursor
        } while (cursor !== undefined)
        assert.deepEqual([...listed].sort(), [...TRICKY_SESSION_IDS].sort())
        for (const [i, sessionId] of TRICKY_SESSION_IDS.entries()) {
          const messages = await repo.readMessages({ sessionId, agentId: 'default' })
          assert.deepEqual(
            messages.map((record) => record.message),
            [text(`message ${i}`)],
            `session ${JSON.stringify(sessionId.slice(0, 20))} kept its own message`,
          )
        }
      }),
    },
    {
      name: 'an empty session ID is rejected with a ConfigurationError',
      run: withStore(async (open) => {
        const repo = await open()
        await assert.rejects(repo.createSession({ sessionId: '' }), ConfigurationError)
        await assert.rejects(
          repo.appendMessage({ sessionId: '', agentId: 'a', message: text('x') }),
          ConfigurationError,
        )
      }),
    },
    {
      name: 'appended messages get consecutive indexes and read back with offset and limit',
      run: withStore(async (open) => {
        const repo = await open()
        for (let i = 0; i < 7; i++) {
          const record = await repo.appendMessage({
            ...agent,
            message: text(`m${i}`, i % 2 ? 'assistant' : 'user'),
          })
          assert.equal(record.index, i)
          assert.equal(record.revision, 0)
          assert.equal(record.schemaVersion, 1)
        }
        assert.equal(await repo.countMessages(agent), 7)
        const window = await repo.readMessages({ ...agent, offset: 3, limit: 2 })
        assert.deepEqual(
          window.map((record) => [record.index, record.message]),
          [
            [3, text('m3', 'assistant')],
            [4, text('m4')],
          ],
        )
        assert.equal((await repo.readMessages({ ...agent, offset: 5 })).length, 2)
        assert.deepEqual(await repo.readMessages({ ...agent, offset: 7 }), [])
        assert.deepEqual(await repo.readMessages({ sessionId: 'absent', agentId: 'x' }), [])
        assert.equal(await repo.countMessages({ sessionId: 'absent', agentId: 'x' }), 0)
      }),
    },
    {
      name: 'an append at a taken expectedIndex throws SessionConflictError and writes nothing',
      run: withStore(async (open) => {
        const repo = await open()
        await repo.appendMessage({ ...agent, message: text('first'), expectedIndex: 0 })
        await assert.rejects(
          repo.appendMessage({ ...agent, message: text('late'), expectedIndex: 0 }),
          SessionConflictError,
        )
        const stored = await repo.readMessages(agent)
        assert.deepEqual(
          stored.map((record) => record.message),
          [text('first')],
        )
      }),
    },
    {
      name: 'concurrent appends through two handles are each stored exactly once, in one order',
      run: withStore(async (open) => {
        const [a, b] = [await open(), await open()]
        const writes = Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? a : b).appendMessage({ ...agent, message: text(`w${i}`) }),
        )
        const records = await Promise.all(writes)
        assert.deepEqual(
          records.map((record) => record.index).sort((x, y) => x - y),
          Array.from({ length: 40 }, (_, i) => i),
        )
        const fromA = (await a.readMessages(agent)).map((record) => record.message)
        const fromB = (await b.readMessages(agent)).map((record) => record.message)
        assert.deepEqual(fromA, fromB)
        assert.deepEqual(
          fromA.map((message) => (message.content[0] as { text: string }).text).sort(),
          Array.from({ length: 40 }, (_, i) => `w${i}`).sort(),
        )
      }),
    },
    {
      name: 'updating a message replaces it and bumps its revision; a missing one throws',
      run: withStore(async (open) => {
        const repo = await open()
        await repo.appendMessage({ ...agent, message: text('my card is 4111 1111 1111 1111') })
        const updated = await repo.updateMessage({ ...agent, index: 0, message: text('[redacted]') })
        assert.equal(updated.revision, 1)
        const [stored] = await repo.readMessages(agent)
        assert.deepEqual(stored?.message, text('[redacted]'))
        await assert.rejects(
          repo.updateMessage({ ...agent, index: 5, message: text('x') }),
          RecordNotFoundError,
        )
      }),
    },
    {
      name: 'a malformed message is rejected with a ValidationError before anything is stored',
      run: withStore(async (open) => {
        const repo = await open()
        const bad = { role: 'robot', content: 'hi' } as unknown as Message
        await assert.rejects(repo.appendMessage({ ...agent, message: bad }), ValidationError)
        assert.equal(await repo.countMessages(agent), 0)
      }),
    },
    {
      name: 'agent records keep state per agent and count revisions',
      run: withStore(async (open) => {
        const repo = await open()
        await repo.createSession({ sessionId: 's1' })
        assert.equal(await repo.readAgent(agent), null)
        const write = { ...agent, state: { name: 'Alex' }, conversationManagerState: null, windowStart: 0 }
        assert.equal((await repo.writeAgent(write)).revision, 0)
        const second = await repo.writeAgent({ ...write, state: { name: 'Sam' }, windowStart: 4 })
        assert.equal(second.revision, 1)
        await repo.writeAgent({
          sessionId: 's1',
          agentId: 'helper',
          state: {},
          conversationManagerState: null,
          windowStart: 0,
        })
        const read = await repo.readAgent(agent)
        assert.deepEqual(read?.state, { name: 'Sam' })
        assert.equal(read?.windowStart, 4)
        assert.deepEqual(
          (await repo.listAgents({ sessionId: 's1' })).map((record) => record.agentId).sort(),
          ['default', 'helper'],
        )
      }),
    },
    {
      name: 'updateSession sets title and metadata for every reader; null clears, absent keeps; appends keep them',
      run: withStore(async (open) => {
        const repo = await open()
        const created = await repo.createSession({ sessionId: 's1' })
        assert.equal(created.title, undefined)
        const metadata = { owner: 'user-42', tags: ['travel', 'draft'], pinned: true, unread: 3 }
        const updated = await repo.updateSession({ sessionId: 's1', title: 'Trip to Lisbon', metadata })
        assert.equal(updated.title, 'Trip to Lisbon')
        assert.deepEqual(updated.metadata, metadata)
        assert.equal(updated.createdAt, created.createdAt)
        assert.ok((updated.updatedAt ?? '') >= created.createdAt, 'updatedAt is set, not before createdAt')

        const other = await open()
        await other.appendMessage({ ...agent, message: text('What should I see in Lisbon?') })
        const read = await other.readSession({ sessionId: 's1' })
        assert.equal(read?.title, 'Trip to Lisbon')
        assert.deepEqual(read?.metadata, metadata)
        const listed = (await listAll(other, 10)).find((record) => record.sessionId === 's1')
        assert.equal(listed?.title, 'Trip to Lisbon')
        assert.deepEqual(listed?.metadata, metadata)

        const retitled = await repo.updateSession({ sessionId: 's1', title: 'Lisbon, 3 days' })
        assert.deepEqual(retitled.metadata, metadata, 'absent metadata stays as it is')
        const cleared = await repo.updateSession({ sessionId: 's1', title: null })
        assert.equal(cleared.title, undefined)
        assert.deepEqual(cleared.metadata, metadata)
        const bare = await repo.updateSession({ sessionId: 's1', metadata: null })
        assert.equal(bare.metadata, undefined)
        assert.equal((await other.readSession({ sessionId: 's1' }))?.metadata, undefined)
      }),
    },
    {
      name: 'updateSession on an absent session throws RecordNotFoundError; bad fields a ValidationError',
      run: withStore(async (open) => {
        const repo = await open()
        await assert.rejects(repo.updateSession({ sessionId: 'nope', title: 'x' }), RecordNotFoundError)
        assert.equal(await repo.readSession({ sessionId: 'nope' }), null)
        await repo.createSession({ sessionId: 's1' })
        await repo.updateSession({ sessionId: 's1', title: 'kept' })
        const badTitle = { sessionId: 's1', title: 42 } as unknown as { sessionId: string; title: string }
        await assert.rejects(repo.updateSession(badTitle), ValidationError)
        assert.equal((await repo.readSession({ sessionId: 's1' }))?.title, 'kept')
      }),
    },
    {
      name: 'deleting a session removes all of it; deleting an absent one is a no-op',
      run: withStore(async (open) => {
        const repo = await open()
        await repo.createSession({ sessionId: 's1' })
        await repo.appendMessage({ ...agent, message: text('bye') })
        await repo.writeAgent({ ...agent, state: {}, conversationManagerState: null, windowStart: 0 })
        await repo.deleteSession({ sessionId: 's1' })
        await repo.deleteSession({ sessionId: 's1' })
        assert.equal(await repo.readSession({ sessionId: 's1' }), null)
        assert.equal(await repo.readAgent(agent), null)
        assert.equal(await repo.countMessages(agent), 0)
        assert.deepEqual((await repo.listSessions()).sessions, [])
        const again = await repo.appendMessage({ ...agent, message: text('new life') })
        assert.equal(again.index, 0)
      }),
    },
  ]
}

/**
 * The activity part of the contract: `updatedAt` follows appends and updates, and `listSessions`
 * returns the most recently active session first, in pages. Run it beside
 * `sessionRepositoryContract`, the same way.
 */
export function sessionListingContract(
  fresh: () => OpenRepository | Promise<OpenRepository>,
  options: {
    /**
     * The coarsest clock the repository orders activity by, in ms (default 25). S3 stamps objects
     * to the second: pass 1000 for `S3SessionRepository`.
     */
    clockResolutionMs?: number
  } = {},
): ContractCase[] {
  const withStore = (run: (open: OpenRepository) => Promise<void>) => async () => run(await fresh())
  const ids = (records: { sessionId: string }[]) => records.map((record) => record.sessionId)
  // Between steps: longer than the coarsest clock the store stamps activity with.
  const resolution = options.clockResolutionMs ?? 25
  const step = () => pause(resolution === 25 ? 25 : resolution + 100)

  return [
    {
      name: 'an append moves the session’s updatedAt forward, for every reader',
      run: withStore(async (open) => {
        const repo = await open()
        const created = await repo.createSession({ sessionId: 's1' })
        await step()
        const before = new Date().toISOString()
        await step()
        await repo.appendMessage({ sessionId: 's1', agentId: 'default', message: text('hello') })
        const read = await (await open()).readSession({ sessionId: 's1' })
        assert.equal(read?.createdAt, created.createdAt)
        assert.ok((read?.updatedAt ?? '') > before, `updatedAt ${read?.updatedAt} is after ${before}`)
      }),
    },
    {
      name: 'listSessions returns the most recently active first, in pages, and activity reorders it',
      run: withStore(async (open) => {
        const repo = await open()
        for (const sessionId of ['a', 'b', 'c', 'd', 'e']) {
          await repo.createSession({ sessionId })
          await step()
        }
        assert.deepEqual(ids(await listAll(repo, 2)), ['e', 'd', 'c', 'b', 'a'])
        await repo.appendMessage({ sessionId: 'b', agentId: 'default', message: text('back to b') })
        await step()
        await repo.appendMessage({ sessionId: 'a', agentId: 'helper', message: text('and a') })
        await step()
        await repo.updateSession({ sessionId: 'd', title: 'renamed' })
        const other = await open()
        assert.deepEqual(ids(await listAll(other, 2)), ['d', 'a', 'b', 'e', 'c'])
        assert.deepEqual(ids(await listAll(other, 100)), ['d', 'a', 'b', 'e', 'c'])
        const first = await other.listSessions({ limit: 3 })
        assert.deepEqual(ids(first.sessions), ['d', 'a', 'b'])
        assert.ok(first.nextCursor !== undefined)
        const rest = await other.listSessions({ limit: 3, cursor: first.nextCursor })
        assert.deepEqual(ids(rest.sessions), ['e', 'c'])
        assert.equal(rest.nextCursor, undefined)
      }),
    },
  ]
}
