import { describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { cliS3Store, S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(`a damaged session record on S3 (${target.name})`, () => {
    const s3 = useS3Target(target)

    it('repair keeps its bytes aside and rebuilds it; every message is still there', async () => {
      const { server, bucket } = s3
      const repository = new S3SessionRepository({
        bucket,
        prefix: 'app',
        clientConfig: server.clientConfig(),
      })
      await seedChat(repository, 'broken', 3)
      const before = await repository.readMessages({ sessionId: 'broken', agentId: 'default' })
      const raw = rawBucket(server.clientConfig(), bucket)
      const key = (await raw.keys('app/')).find((candidate) => candidate.endsWith('/broken/session.json'))
      if (!key) throw new Error('no session record stored')
      await raw.put(key, '{"schemaVersion":1,"sessionId":')

      const { flags: store, env } = cliS3Store(server, bucket, 'app')
      const shown = await runTether(['sessions', 'show', 'broken', ...store], { env })
      expect(shown.code).not.toBe(0)
      expect(shown.stderr).toContain('tether sessions repair')

      const repaired = await runTether(['sessions', 'repair', 'broken', ...store], { env })
      expect(repaired.code, repaired.stderr).toBe(0)
      expect(repaired.stdout).toContain('kept at s3://')

      // The damaged bytes are kept, the session reads again, and no message was touched.
      const kept = (await raw.keys('app/')).filter((candidate) =>
        candidate.includes('/broken/quarantine/session.json-'),
      )
      expect(kept).toHaveLength(1)
      expect(await raw.get(kept[0] as string)).toBe('{"schemaVersion":1,"sessionId":')
      const fresh = new S3SessionRepository({ bucket, prefix: 'app', clientConfig: server.clientConfig() })
      expect(await fresh.readSession({ sessionId: 'broken' })).toMatchObject({ sessionId: 'broken' })
      expect(await fresh.readMessages({ sessionId: 'broken', agentId: 'default' })).toEqual(before)
      const again = await runTether(['sessions', 'show', 'broken', ...store], { env })
      expect(again.code, again.stderr).toBe(0)
    }, 90_000)
  })
}
