import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  type Message,
  RepositorySessionManager,
  SlidingWindowConversationManager,
} from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

/** Every object of two sessions as tether-agents 0.1 stored them (tests/support/s3-write-format-1-fixture.ts). */
const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/s3-sessions-v1/objects.json', import.meta.url), 'utf8'),
) as { objects: Record<string, string> }
const textOf = (message: Message) => (message.content[0] as { text: string }).text

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `sessions in the S3 layout of tether-agents 0.1 stay readable and writable (${target.name})`,
    () => {
      const s3 = useS3Target(target)
      let copies = 0

      /** A fresh copy of the fixture under its own prefix, opened with today's defaults. */
      async function copy(): Promise<{ repository: () => S3SessionRepository; prefix: string }> {
        const prefix = `copy-${copies++}/`
        const raw = rawBucket(s3.server.clientConfig(), s3.bucket)
        await Promise.all(
          Object.entries(fixture.objects).map(([key, body]) => raw.put(`${prefix}${key}`, body)),
        )
        return {
          prefix,
          repository: () =>
            new S3SessionRepository({ bucket: s3.bucket, prefix, clientConfig: s3.server.clientConfig() }),
        }
      }

      it('lists, counts and reads every message, redactions included, and the agent record', async () => {
        const { repository } = await copy()
        const repo = repository()
        const ref = { sessionId: 'User-42 🦜', agentId: 'default' }
        expect((await repo.listSessions()).sessions.map((s) => s.sessionId).sort()).toEqual([
          'User-42 🦜',
          'second',
        ])
        expect(await repo.countMessages(ref)).toBe(120)
        const all = await repo.readMessages(ref)
        expect(all.map((record) => record.index)).toEqual(Array.from({ length: 120 }, (_, i) => i))
        expect(textOf(all[3]?.message as Message)).toBe('[redacted 3]')
        expect(all[3]?.revision).toBe(1)
        expect(textOf(all[110]?.message as Message)).toBe('[redacted 110]')
        expect(textOf(all[119]?.message as Message)).toBe('message 119')
        expect((await repo.readMessages({ ...ref, offset: 45, limit: 10 })).map((r) => r.index)).toEqual(
          Array.from({ length: 10 }, (_, i) => 45 + i),
        )
        expect((await repo.readAgent(ref))?.state).toEqual({ theme: 'dark' })
        expect(
          (await repo.readMessages({ sessionId: 'second', agentId: 'helper' })).map((r) => textOf(r.message)),
        ).toEqual(['hello'])
      })

      it('an agent restores its window and appends, and the log stays in its own layout', async () => {
        const { repository, prefix } = await copy()
        const agent = new Agent({
          model: new ScriptedModel({ fallback: { text: 'welcome back' } }),
          conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
          sessionManager: new RepositorySessionManager({ sessionId: 'User-42 🦜', repository: repository() }),
        })
        await agent.initialize()
        expect(agent.state.get('theme')).toBe('dark')
        expect(textOf(agent.messages.at(-1) as Message)).toBe('message 119')
        await agent.run('hello again')
        const all = await repository().readMessages({ sessionId: 'User-42 🦜', agentId: 'default' })
        expect(all.slice(-2).map((record) => textOf(record.message))).toEqual(['hello again', 'welcome back'])
        expect(all).toHaveLength(122)
        // Even on a store with conditional writes, an existing log keeps its slot layout.
        const keys = await rawBucket(s3.server.clientConfig(), s3.bucket).keys(`${prefix}sessions/`)
        expect(keys.filter((key) => /\/log\/m\d{12}/.test(key))).toEqual([])
        // And its slot format 1, which 0.1's readers parse: tails on prepares, no format-2 keys
        // (q~ prepares, v-named values), which 0.1 refuses as a newer layout.
        const logKeys = keys.filter((key) => key.includes('/log/'))
        expect(logKeys.filter((key) => /\/(q~|[ad]~.*~v)/.test(key))).toEqual([])
        expect(logKeys.filter((key) => /\/d~\d{12}~\d{12}\./.test(key)).length).toBeGreaterThan(0)
      })
    },
  )
}
