import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
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
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel } from '../support/valid-history.ts'

const ref = { sessionId: 'damaged', agentId: 'default' }
const agentDir = (directory: string) => join(directory, 'damaged', 'agents', 'default')
const messageFile = (directory: string, index: number) =>
  join(agentDir(directory), 'messages', `${String(index).padStart(12, '0')}.json`)

async function sessionWithTurns(directory: string, turns: number) {
  const agent = new Agent({
    model: new ScriptedModel({ fallback: { text: 'ok' } }),
    sessionManager: new RepositorySessionManager({
      ...ref,
      repository: new FileSessionRepository({ directory }),
    }),
  })
  for (let turn = 0; turn < turns; turn++) await agent.run(`turn ${turn}`)
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

const damage: [string, (original: string) => string][] = [
  ['truncated', (original) => original.slice(0, Math.floor(original.length / 2))],
  ['garbage bytes', () => '\u0000\u00ff\u00fe garbage \u0007'],
  ['empty', () => ''],
  ['the wrong JSON shape', () => JSON.stringify({ schemaVersion: 1, hello: 'world' })],
  ['valid JSON of another kind', () => 'null'],
]

describe('the file repository meets damaged files', () => {
  const tempDirectory = useTempDirectories()

  for (const [kind, corrupt] of damage) {
    it(`a message record that is ${kind} is a typed error on read, and a restore keeps it aside and goes on`, async () => {
      const directory = await tempDirectory()
      await sessionWithTurns(directory, 3)
      const path = messageFile(directory, 2)
      const original = await readFile(path, 'utf8')
      const damagedBytes = corrupt(original)
      await writeFile(path, damagedBytes)

      const error = await new FileSessionRepository({ directory }).readMessages(ref).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DamagedRecordError)
      expect((error as DamagedRecordError).location).toBe(path)
      expect((error as DamagedRecordError).index).toBe(2)

      const agent = await restore(directory)
      expect(agent.messages).toHaveLength(6)
      expect(JSON.stringify(agent.messages[2])).toContain('could not be read')
      expectValidForModel(agent.messages)
      const kept = await readdir(join(agentDir(directory), 'quarantine'))
      expect(kept).toHaveLength(1)
      expect(await readFile(join(agentDir(directory), 'quarantine', kept[0] as string), 'utf8')).toBe(
        damagedBytes,
      )
      // The repair is stored: a plain read succeeds now, and marks the placeholder.
      const records = await new FileSessionRepository({ directory }).readMessages(ref)
      expect(records[2]?.damaged?.keptAs).toContain('quarantine')
    })
  }

  it('a record from a newer format is refused with UnsupportedSchemaVersionError and left untouched', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 1)
    const path = messageFile(directory, 1)
    const future = JSON.stringify({
      ...JSON.parse(await readFile(path, 'utf8')),
      schemaVersion: 2,
      newField: true,
    })
    await writeFile(path, future)
    const error = await restore(directory).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnsupportedSchemaVersionError)
    expect((error as UnsupportedSchemaVersionError).found).toBe(2)
    expect(await readFile(path, 'utf8')).toBe(future)
  })

  it('a listing names a session whose record is damaged and still lists the others', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 1)
    const repository = new FileSessionRepository({ directory })
    await repository.createSession({ sessionId: 'fine' })
    await writeFile(join(directory, 'damaged', 'session.json'), 'null')
    const page = await repository.listSessions()
    expect(page.sessions.map((session) => session.sessionId)).toEqual(['fine'])
    expect(page.unreadable).toEqual([
      {
        location: join(directory, 'damaged', 'session.json'),
        reason: expect.stringContaining('wrong shape'),
      },
    ])
  })

  it('a damaged session.json is a typed error naming the file, never an unhandled exception', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 1)
    const path = join(directory, 'damaged', 'session.json')
    await writeFile(path, '{"schemaVersion":1,"sessionId":')
    const error = await restore(directory).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect(TetherError.isInstance(error)).toBe(true)
    expect((error as DamagedRecordError).message).toContain(path)
  })

  it('a damaged agent.json does not block the session: state resets, messages restore, bytes kept aside', async () => {
    const directory = await tempDirectory()
    await sessionWithTurns(directory, 2)
    const path = join(agentDir(directory), 'agent.json')
    await writeFile(path, '{"schemaVersion":1,"sessionId":')
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
    const kept = await readdir(join(agentDir(directory), 'quarantine'))
    expect(kept).toEqual([expect.stringMatching(/^agent\.json-\d+\.damaged$/)])
    expect(await readFile(join(agentDir(directory), 'quarantine', kept[0] as string), 'utf8')).toBe(
      '{"schemaVersion":1,"sessionId":',
    )
    // The agent record was written afresh, so the next restore is clean.
    expect((await new FileSessionRepository({ directory }).readAgent(ref))?.revision).toBe(0)
    expect((await restore(directory)).messages).toHaveLength(4)
  })
})
