import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository, RecordNotFoundError } from '../../src/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const text = (value: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text: value }] })

describe('file sessions', () => {
  const tempDirectory = useTempDirectories()

  it('keep a title and app metadata: null clears, absent leaves as is, an absent session is an error', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const created = await repository.createSession({ sessionId: 's' })
    expect(created.updatedAt).toBe(created.createdAt)
    expect(created.messageCount).toBe(0)

    const titled = await repository.updateSession({
      sessionId: 's',
      title: 'Trip',
      metadata: { customer: 42 },
    })
    expect(titled).toMatchObject({ title: 'Trip', metadata: { customer: 42 } })
    const kept = await repository.updateSession({ sessionId: 's', metadata: { customer: 43 } })
    expect(kept).toMatchObject({ title: 'Trip', metadata: { customer: 43 } })
    const cleared = await repository.updateSession({ sessionId: 's', title: null })
    expect(cleared.title).toBeUndefined()
    expect(cleared.metadata).toEqual({ customer: 43 })
    expect(
      await new FileSessionRepository({ directory: repository.directory }).readSession({ sessionId: 's' }),
    ).toEqual(cleared)
    await expect(repository.updateSession({ sessionId: 'absent', title: 'x' })).rejects.toBeInstanceOf(
      RecordNotFoundError,
    )
  })

  it('list the most recently updated first, by append or by updateSession, paged', async () => {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    for (const sessionId of ['a', 'b', 'c']) {
      await repository.createSession({ sessionId })
      await sleep(5)
    }
    await repository.appendMessage({ sessionId: 'a', agentId: 'default', message: text('newest activity') })
    const listed = async () => {
      const ids: string[] = []
      let cursor: string | undefined
      do {
        const page = await new FileSessionRepository({ directory }).listSessions({
          limit: 2,
          ...(cursor === undefined ? {} : { cursor }),
        })
        ids.push(...page.sessions.map((session) => session.sessionId))
        cursor = page.nextCursor
      } while (cursor !== undefined)
      return ids
    }
    expect(await listed()).toEqual(['a', 'c', 'b'])
    await sleep(5)
    await repository.updateSession({ sessionId: 'b', title: 'renamed' })
    expect(await listed()).toEqual(['b', 'a', 'c'])
    const a = await repository.readSession({ sessionId: 'a' })
    expect(a?.messageCount).toBe(1)
    expect(Date.parse(a?.updatedAt ?? '')).toBeGreaterThan(Date.parse(a?.createdAt ?? ''))
  })

  it('never serve a session another handle deleted: reads see it gone, the next append starts afresh', async () => {
    const directory = await tempDirectory()
    const mine = new FileSessionRepository({ directory })
    const ref = { sessionId: 's', agentId: 'default' }
    await mine.appendMessage({ ...ref, message: text('one') })
    await mine.appendMessage({ ...ref, message: text('two') })
    expect(await mine.countMessages(ref)).toBe(2)

    await new FileSessionRepository({ directory }).deleteSession(ref)
    expect(await mine.readSession(ref)).toBeNull()
    expect(await mine.countMessages(ref)).toBe(0)
    expect(await mine.readMessages(ref)).toEqual([])
    expect((await mine.appendMessage({ ...ref, message: text('again') })).index).toBe(0)
    expect((await new FileSessionRepository({ directory }).readMessages(ref)).map((r) => r.message)).toEqual([
      text('again'),
    ])
  })
})
