import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  DamagedRecordError,
  FileSessionRepository,
  type RepairReport,
  RepositorySessionManager,
  TetherError,
  UnsupportedSchemaVersionError,
} from '../../src/index.ts'
import { seal } from '../../src/storage/sealed-row.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const ref = { sessionId: 'damaged', agentId: 'default' }
const databaseFile = (directory: string) => join(directory, 'damaged', 'session.db')
const quarantine = (directory: string) => join(directory, 'damaged', 'agents', 'default', 'quarantine')

async function sessionWithTurns(directory: string, turns: number) {
  const repository = new FileSessionRepository({ directory })
  const agent = new Agent({
    model: new ScriptedModel({ fallback: { text: 'ok' } }),
    sessionManager: new RepositorySessionManager({ ...ref, repository }),
  })
  for (let turn = 0; turn < turns; turn++) await agent.run(`turn ${turn}`)
  repository.close()
}

async function restore(directory: string) {
  const agent = new Agent({
    model: new ScriptedModel({ fallback: { text: 'ok' } }),
    sessionManager: new RepositorySessionManager({
      ...ref,
      repository: new FileSessionRepository({ directory }),
    }),
  })
  await agent.initialize()
  return agent
}

/** Changes a stored row behind the repository's back, as bit rot or a stray writer would. */
function tamper(directory: string, sql: string, ...values: (string | number | Uint8Array)[]) {
  const db = new DatabaseSync(databaseFile(directory))
  try {
    db.prepare(sql).run(...values)
  } finally {
    db.close()
  }
}

function storedBytes(directory: string, index: number): Buffer {
  const db = new DatabaseSync(databaseFile(directory))
  try {
    const row = db.prepare('SELECT record FROM messages WHERE agent_id = ? AND idx = ?').get('default', index)
    return Buffer.from(row?.record as Uint8Array)
  } finally {
    db.close()
  }
}

const damage: [string, (original: Buffer) => Buffer][] = [
  ['truncated', (original) => original.subarray(0, Math.floor(original.length / 2))],
  ['garbage bytes', () => Buffer.from('\u0000\u00ff\u00fe garbage \u0007')],
  ['empty', () => Buffer.alloc(0)],
  ['one flipped bit', (original) => Buffer.from(original.map((byte, i) => (i === 40 ? byte ^ 0x04 : byte)))],
  ['the wrong JSON shape', () => Buffer.from(JSON.stringify({ schemaVersion: 1, hello: 'world' }))],
]

describe('the file repository meets damaged records', () => {
  const tempDirectory = useTempDirectories()

  for (const [kind, corrupt] of damage) {
    it(`a message record that is ${kind} is a typed error on read, and a restore keeps it aside and goes on`, async () => {
      const directory = await tempDirectory()
      await sessionWithTurns(directory, 3)
      const damagedBytes = corrupt(storedBytes(directory, 2))
      tamper(directory, 'UPDATE messages SET record = ? WHERE idx = 2', damagedBytes)

      const error = await new FileSessionRepository({ directory }).readMessages(ref).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DamagedRecordError)
      expect((error as DamagedRecordError).location).toContain(databaseFile(directory))
      expect((error as DamagedRecordError).location).toContain('message 2')
      expect((error as DamagedRecordError).index).toBe(2)

      const agent = await restore(directory)
      expect(agent.messages).toHaveLength(6)
      expect(JSON.stringify(agent.messages[2])).toContain('could not be read')
      expectValidForModel(agent.messages)
      const kept = await readdir(quarantine(directory))
      expect(kept).toEqual([expect.stringMatching(/^message-000000000002-\d+\.damaged$/)])
      expect(await readFile(join(quarantine(directory), kept[0] as string))).toEqual(damagedBytes)
      // The repair is stored: a plain read succeeds now, and marks the placeholder.
      const records = await new FileSessionRepository({ directory }).readMessages(ref)
      expect(records[2]?.damaged?.keptAs).toContain('quarantine')
    })
  }

  it('a record moved under another index fails its seal: damage, never the other message', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 2)
    const third = storedBytes(directory, 2)
    tamper(directory, 'UPDATE messages SET record = ? WHERE idx = 1', third)
    const error = await new FileSessionRepository({ directory })
      .readMessages({ ...ref, offset: 1, limit: 1 })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect((error as DamagedRecordError).reason).toContain('checksum mismatch')
  })

  it('a vanished record, in the middle or at the tail, is damage: never a shorter history', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 3)
    tamper(directory, 'DELETE FROM messages WHERE idx = 3')
    const middle = await new FileSessionRepository({ directory }).readMessages(ref).catch((e: unknown) => e)
    expect(middle).toBeInstanceOf(DamagedRecordError)
    expect((middle as DamagedRecordError).index).toBe(3)

    tamper(directory, 'DELETE FROM messages WHERE idx = 5')
    const tail = await new FileSessionRepository({ directory }).countMessages(ref).catch((e: unknown) => e)
    expect(tail).toBeInstanceOf(DamagedRecordError)
    expect((tail as DamagedRecordError).reason).toContain('the head counts 6 messages')
  })

  it('a record from a newer format is refused with UnsupportedSchemaVersionError and left untouched', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 1)
    const future = Buffer.from(
      JSON.stringify({
        ...JSON.parse(storedBytes(directory, 1).toString()),
        schemaVersion: 2,
        newField: true,
      }),
    )
    const key = JSON.stringify(['default', 1])
    tamper(
      directory,
      'UPDATE messages SET record = ?, checksum = ? WHERE idx = 1',
      future,
      seal('message', key, future),
    )
    const error = await restore(directory).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnsupportedSchemaVersionError)
    expect((error as UnsupportedSchemaVersionError).found).toBe(2)
    expect(storedBytes(directory, 1)).toEqual(future)
  })

  it('a database file from a newer format is refused, and one that is not a database is damage', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 1)
    const db = new DatabaseSync(databaseFile(directory))
    db.exec('PRAGMA user_version = 3')
    db.close()
    const newer = await restore(directory).catch((e: unknown) => e)
    expect(newer).toBeInstanceOf(UnsupportedSchemaVersionError)

    await writeFile(databaseFile(directory), 'this is not a database '.repeat(200))
    const garbage = await new FileSessionRepository({ directory }).readSession(ref).catch((e: unknown) => e)
    expect(garbage).toBeInstanceOf(DamagedRecordError)
    expect((garbage as DamagedRecordError).message).toContain(databaseFile(directory))
  })

  it('a listing names a session whose record is damaged and still lists the others', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 1)
    const repository = new FileSessionRepository({ directory })
    await repository.createSession({ sessionId: 'fine' })
    tamper(directory, "UPDATE session SET record = CAST('null' AS BLOB)")
    const page = await repository.listSessions()
    expect(page.sessions.map((session) => session.sessionId)).toEqual(['fine'])
    expect(page.unreadable).toEqual([
      {
        location: databaseFile(directory),
        reason: expect.stringContaining('checksum mismatch'),
      },
    ])
    const error = await restore(directory).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect(TetherError.isInstance(error)).toBe(true)
  })

  it('a damaged session record is rebuilt on request, its bytes kept aside, every message kept', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 2)
    tamper(directory, 'UPDATE session SET record = CAST(\'{"schemaVersion":1,\' AS BLOB) WHERE id = 0')
    const repository = new FileSessionRepository({ directory })
    await expect(repository.readSession(ref)).rejects.toBeInstanceOf(DamagedRecordError)
    const { record, keptAs } = await repository.recoverSessionRecord(ref)
    expect(record.sessionId).toBe('damaged')
    expect(keptAs).toMatch(/quarantine.session-record-\d+\.damaged$/)
    expect(await readFile(keptAs as string, 'utf8')).toBe('{"schemaVersion":1,')
    expect((await restore(directory)).messages).toHaveLength(4)
    expect((await new FileSessionRepository({ directory }).readSession(ref))?.messageCount).toBe(4)
  })

  it('a damaged agent record does not block the session: state resets, messages restore, bytes kept aside', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 2)
    tamper(directory, 'UPDATE agents SET record = CAST(\'{"schemaVersion":1,"sessionId":\' AS BLOB)')
    const reports: RepairReport[] = []
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      sessionManager: new RepositorySessionManager({
        ...ref,
        repository: new FileSessionRepository({ directory }),
      }),
    })
    agent.hooks.on('history-repaired', ({ report }) => {
      reports.push(report)
    })
    await agent.initialize()
    expect(agent.messages).toHaveLength(4)
    expect(reports[0]?.repairs.map((repair) => [repair.kind, repair.written])).toEqual([
      ['damaged-agent-record', true],
    ])
    const kept = await readdir(quarantine(directory))
    expect(kept).toEqual([expect.stringMatching(/^agent-record-\d+\.damaged$/)])
    expect(await readFile(join(quarantine(directory), kept[0] as string), 'utf8')).toBe(
      '{"schemaVersion":1,"sessionId":',
    )
    // The agent record was written afresh, so the next restore is clean.
    expect((await new FileSessionRepository({ directory }).readAgent(ref))?.revision).toBe(0)
    expect((await restore(directory)).messages).toHaveLength(4)
  })
})
