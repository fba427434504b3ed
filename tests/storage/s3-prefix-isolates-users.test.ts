import { describe, expect, it } from 'vitest'
import { ConfigurationError, type Message } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { TRICKY_SESSION_IDS } from '../../src/testing/index.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(`the S3 prefix isolates users (${target.name})`, () => {
    const s3 = useS3Target(target)

    const as = (prefix: string) =>
      new S3SessionRepository({ bucket: s3.bucket, prefix, clientConfig: s3.server.clientConfig() })

    it('no session or agent ID, however crafted, writes or reads outside the prefix', async () => {
      const alice = as('users/alice')
      const crafted = [
        ...TRICKY_SESSION_IDS,
        '../bob/sessions/x',
        '/users/bob',
        '%2e%2e',
        'users/bob/sessions',
      ]
      for (const sessionId of crafted) {
        await alice.createSession({ sessionId })
        await alice.appendMessage({ sessionId, agentId: '../../bob', message: text(`alice: ${sessionId}`) })
        await alice.writeAgent({
          sessionId,
          agentId: '../../bob',
          state: {},
          conversationManagerState: null,
          windowStart: 0,
        })
      }
      const keys = await rawBucket(s3.server.clientConfig(), s3.bucket).keys()
      // A session record, an agent record and at least one log object for each crafted session.
      expect(keys.length).toBeGreaterThanOrEqual(crafted.length * 3)
      for (const key of keys) expect(key).toMatch(/^users\/alice\/(sessions|activity)\//)

      const bob = as('users/bob/')
      expect((await bob.listSessions()).sessions).toEqual([])
      for (const sessionId of crafted) {
        expect(await bob.readSession({ sessionId })).toBeNull()
        expect(await bob.countMessages({ sessionId, agentId: '../../bob' })).toBe(0)
      }
      // A prefix that is a string prefix of another is still its own folder.
      expect((await as('users/ali').listSessions()).sessions).toEqual([])
    })

    it('a prefix with an empty, "." or ".." segment is refused', () => {
      for (const prefix of ['users//x', '../users', 'users/./x', '/users']) {
        expect(() => as(prefix)).toThrow(ConfigurationError)
      }
    })
  })
}
