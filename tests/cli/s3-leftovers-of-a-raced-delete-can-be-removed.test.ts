import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { cliS3Store, S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `an S3 delete that raced a writer leaves nothing the CLI cannot remove (${target.name})`,
    () => {
      const s3 = useS3Target(target)

      it('leftovers without a session record are found by verify, removed by delete, and a reused ID starts empty', async () => {
        const { server, bucket } = s3
        const repository = new S3SessionRepository({
          bucket,
          prefix: 'tether',
          clientConfig: server.clientConfig(),
        })
        await seedChat(repository, 'ghost', 2)
        // What a delete racing an append leaves: the session record gone, the agent's objects not.
        const raw = rawBucket(server.clientConfig(), bucket)
        const record = (await raw.keys('tether/')).find((key) => key.endsWith('/ghost/session.json'))
        expect(record).toBeDefined()
        const client = new S3Client({ ...server.clientConfig(), requestChecksumCalculation: 'WHEN_REQUIRED' })
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: record }))
        const leftovers = (await raw.keys('tether/')).filter((key) => key.includes('/ghost/'))
        expect(leftovers.length).toBeGreaterThan(0)

        const { flags: store, env } = cliS3Store(server, bucket, 'tether')
        const show = await runTether(['sessions', 'show', 'ghost', ...store], { env })
        expect(show.code).toBe(1)
        if (target.conditionalWrites) {
          // The operator finds them: verify and list name the folder and what removes it. (s3rver
          // lists no folder whose keys all lie two levels down, so only a real store shows this.)
          const verify = await runTether(['sessions', 'verify', ...store], { env })
          expect(verify.code, verify.stdout + verify.stderr).toBe(3)
          expect(verify.stdout).toContain('ghost/session.json')
          expect(verify.stdout).toContain('tether sessions delete')
        }
        const deleted = await runTether(['sessions', 'delete', 'ghost', ...store], { env })
        expect(deleted.code, deleted.stderr).toBe(0)
        expect(deleted.stdout).toContain('it had no session record; removed what was stored under the ID')
        expect((await raw.keys('tether/')).filter((key) => key.includes('/ghost/'))).toEqual([])

        // The ID reused: none of the old history comes back.
        await repository.createSession({ sessionId: 'ghost' })
        expect(await repository.countMessages({ sessionId: 'ghost', agentId: 'default' })).toBe(0)

        const absent = await runTether(['sessions', 'delete', 'never-was', ...store], { env })
        expect(absent.code).toBe(1)
        expect(absent.stderr).toContain('`tether sessions delete never-was --force` removes whatever is left')
      }, 90_000)
    },
  )
}
