import { afterAll, beforeAll, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, type S3TestTarget, TARGET_START_TIMEOUT } from '../support/s3-targets.ts'

const s3rver = S3_TARGETS.find((target) => !target.conditionalWrites) as (typeof S3_TARGETS)[number]
let server: S3TestTarget
let proxy: S3Proxy
beforeAll(async () => {
  server = await s3rver.start()
  proxy = await startS3Proxy(server.port)
}, TARGET_START_TIMEOUT)
afterAll(async () => {
  await proxy?.stop()
  await server?.stop()
})

// The message layout is safe only where the store refuses a second If-None-Match PUT. s3rver
// ignores the header; here a proxy makes it look as if it refused (412) after it applied the PUT,
// as a misbehaving gateway could. The probe must not believe it: the log starts in the slot layout,
// and two devices appending at once both keep their message.
it('a 412 from a store that applied the PUT anyway does not switch a new log to conditional writes', async () => {
  const bucket = await server.createBucket()
  let probePuts = 0
  proxy.setFaults((request) =>
    request.operation === 'PUT' && request.key.includes('probes/conditional-write-') && ++probePuts === 2
      ? { kind: 'status-after', status: 412, code: 'PreconditionFailed' }
      : undefined,
  )
  const device = () =>
    new S3SessionRepository({ bucket, prefix: 'p/', clientConfig: server.clientConfig(proxy.endpoint) })
  const [phone, laptop] = [device(), device()]
  const ref = { sessionId: 'shared', agentId: 'default' }
  const say = (text: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text }] })
  await phone.appendMessage({ ...ref, message: say('first') })
  expect(probePuts).toBeGreaterThanOrEqual(2)
  await Promise.all([
    phone.appendMessage({ ...ref, message: say('from the phone') }),
    laptop.appendMessage({ ...ref, message: say('from the laptop') }),
  ])
  const keys = await rawBucket(server.clientConfig(), bucket).keys('p/sessions/shared/agents/default/log/')
  expect(keys.filter((key) => /\/log\/m\d{12}/.test(key))).toEqual([])
  const stored = await device().readMessages(ref)
  expect(stored.map((record) => record.message.content[0])).toHaveLength(3)
})
