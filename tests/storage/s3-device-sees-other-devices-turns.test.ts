import { describe, expect, it } from 'vitest'
import { Agent, type Message, RepositorySessionManager, SessionConflictError } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

const texts = (messages: Message[]) =>
  messages.map((message) =>
    message.content.map((block) => (block.type === 'text' ? block.text : '')).join(''),
  )
const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(`S3 sessions across devices (${target.name})`, () => {
    const s3 = useS3Target(target)

    /** A device: its own client and repository, the same s3.bucket and user prefix. */
    const device = () =>
      new S3SessionRepository({
        bucket: s3.bucket,
        prefix: 'users/alex/',
        clientConfig: s3.server.clientConfig(),
      })

    it("device B sees device A's turns at its next run, and A sees B's", async () => {
      const modelA = new ScriptedModel({ fallback: { text: 'Nice to meet you, Alex.' } })
      const modelB = new ScriptedModel({ fallback: { text: 'Your name is Alex.' } })
      const onA = new Agent({
        model: modelA,
        sessionManager: new RepositorySessionManager({ sessionId: 'chat', repository: device() }),
      })
      const onB = new Agent({
        model: modelB,
        sessionManager: new RepositorySessionManager({ sessionId: 'chat', repository: device() }),
      })
      await onB.initialize() // B is open before A's turn: it must pick the turn up at its next run.
      await onA.run('My name is Alex.')
      await onB.run("What's my name?")
      expect(texts(modelB.requests[0]?.messages ?? [])).toEqual([
        'My name is Alex.',
        'Nice to meet you, Alex.',
        "What's my name?",
      ])
      await onA.run('Thanks.')
      expect(texts(modelA.requests[1]?.messages ?? [])).toEqual([
        'My name is Alex.',
        'Nice to meet you, Alex.',
        "What's my name?",
        'Your name is Alex.',
        'Thanks.',
      ])
    })

    it('two devices appending at the same expectedIndex: exactly one lands, the other writes nothing', async () => {
      const ref = { sessionId: 'race', agentId: 'default' }
      for (let round = 0; round < 5; round++) {
        const [a, b] = [device(), device()]
        const results = await Promise.allSettled([
          a.appendMessage({ ...ref, message: text(`a${round}`), expectedIndex: round }),
          b.appendMessage({ ...ref, message: text(`b${round}`), expectedIndex: round }),
        ])
        const landed = results.filter((result) => result.status === 'fulfilled')
        const refused = results.filter((result) => result.status === 'rejected')
        expect(landed).toHaveLength(1)
        expect(refused).toHaveLength(1)
        expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(SessionConflictError)
        expect(await device().countMessages(ref)).toBe(round + 1)
      }
      const stored = await device().readMessages(ref)
      expect(stored.map((record) => record.index)).toEqual([0, 1, 2, 3, 4])
    })
  })
}
