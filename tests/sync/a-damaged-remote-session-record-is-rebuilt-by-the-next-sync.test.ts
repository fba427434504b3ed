import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  type LogFields,
  type Logger,
  MemorySessionRepository,
  type Message,
  SyncedSessionRepository,
} from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { emptyAgentRecord } from '../support/memory-devices.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })

let server: S3TestServer
beforeAll(async () => {
  server = await startS3Server()
})
afterAll(() => server?.stop())

// The remote session record holds only the title, metadata and creation time, and every device
// has a copy. A damaged one (here: torn to nothing, as an upload cut mid-body left it on the
// tests' old S3 server) used to stop every sync of the session until someone ran
// `tether sessions repair`. The next sync now rebuilds it, keeps the damaged bytes aside and puts
// the device's title and metadata back; the history was never touched.
it('the next sync rebuilds a damaged remote session record, keeps its bytes aside, and the title comes back', async () => {
  const bucket = await server.createBucket()
  const remote = () =>
    new S3SessionRepository({ bucket, prefix: 'sync/', clientConfig: server.clientConfig() })
  const warnings: { message: string; fields: LogFields | undefined }[] = []
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => warnings.push({ message, fields }),
    error() {},
  }
  const phone = new SyncedSessionRepository({
    local: new MemorySessionRepository(),
    remote: remote(),
    autoSync: false,
    logger,
  })
  const ref = { sessionId: 'trip', agentId: 'default' }
  await phone.createSession(ref)
  await phone.updateSession({ sessionId: 'trip', title: 'Trip to Lisbon', metadata: { owner: 'u-42' } })
  await phone.writeAgent(emptyAgentRecord(ref))
  await phone.appendMessage({ ...ref, message: text('book the train') })
  await phone.sync()

  const raw = rawBucket(server.clientConfig(), bucket)
  await raw.put('sync/sessions/trip/session.json', '')
  await expect(remote().readSession({ sessionId: 'trip' })).rejects.toThrow(/Damaged session record/)

  await phone.appendMessage({ ...ref, message: text('and the hotel') })
  const report = await phone.sync()
  expect(report.sessions[0]?.agents[0]?.pushed).toBe(1)
  expect(warnings.map((warning) => warning.message)).toEqual([
    'rebuilt the damaged remote session record; this device’s title and metadata go back up',
  ])
  expect(String(warnings[0]?.fields?.keptAs)).toMatch(/sync\/sessions\/trip\/quarantine\/session\.json-/)
  expect(await raw.keys('sync/sessions/trip/quarantine/')).toHaveLength(1)

  const rebuilt = await remote().readSession({ sessionId: 'trip' })
  expect(rebuilt).toMatchObject({ title: 'Trip to Lisbon', metadata: { owner: 'u-42' } })
  // A device that never ran before gets the whole session.
  const laptop = new SyncedSessionRepository({
    local: new MemorySessionRepository(),
    remote: remote(),
    autoSync: false,
  })
  await laptop.sync()
  expect((await laptop.readMessages(ref)).map((record) => record.message.content[0])).toEqual([
    { type: 'text', text: 'book the train' },
    { type: 'text', text: 'and the hotel' },
  ])
  expect(await laptop.readSession({ sessionId: 'trip' })).toMatchObject({ title: 'Trip to Lisbon' })
})
