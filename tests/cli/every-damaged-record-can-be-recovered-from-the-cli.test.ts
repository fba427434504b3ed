import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { runTether } from '../support/cli-run.ts'
import {
  damageAgentRecord,
  damageAgentRoster,
  damageSessionRecord,
  seedChat,
  storedSessionRecord,
} from '../support/cli-seed-sessions.ts'
import { openAIStream } from '../support/openai-wire-format.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { WireServer } from '../support/wire-server.ts'

/** An operator on call with a store where a record's bytes went bad. Four messages a session (2 turns). */
describe('every damaged record can be recovered from the CLI, and nothing is lost', () => {
  const tempDirectory = useTempDirectories()
  let server: WireServer
  beforeEach(async () => {
    server = await WireServer.start()
  })
  afterEach(() => server.close())

  async function store(...ids: string[]) {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    for (const id of ids) await seedChat(repository, id, 2)
    return { directory, flag: `file:${directory}` }
  }

  async function expectAllMessages(flag: string, id: string) {
    const show = await runTether(['sessions', 'show', id, '--store', flag])
    expect(show.code, show.stderr).toBe(0)
    for (const text of ['Question 1?', 'Answer 1.', 'Question 2?', 'Answer 3.'])
      expect(show.stdout).toContain(text)
  }

  it('a damaged session record: show names it and points at repair; repair keeps it aside and rebuilds it', async () => {
    const { directory, flag } = await store('broken')
    await damageSessionRecord(directory, 'broken')

    const show = await runTether(['sessions', 'show', 'broken', '--store', flag])
    expect(show.code).toBe(1)
    expect(show.stderr).toMatch(
      /Damaged session record at .*session\.db: checksum mismatch.*`tether sessions repair SESSION` keeps it aside and rebuilds it/,
    )

    const dry = await runTether(['sessions', 'repair', 'broken', '--store', flag, '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/damaged-session-record\s+would repair/)
    expect(storedSessionRecord(directory, 'broken')).toBe('{"schemaVersion":1,')

    const repair = await runTether(['sessions', 'repair', 'broken', '--store', flag])
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.stdout).toMatch(
      /damaged-session-record\s+repaired\s+checksum mismatch.* kept at .*quarantine/,
    )
    const kept = await readdir(join(directory, 'broken', 'quarantine'))
    expect(await readFile(join(directory, 'broken', 'quarantine', kept[0] ?? ''), 'utf8')).toBe(
      '{"schemaVersion":1,',
    )
    await expectAllMessages(flag, 'broken')
    expect((await runTether(['sessions', 'verify', '--store', flag])).code).toBe(0)
  })

  it('a damaged agent roster: repair rebuilds it from the agent and message rows and keeps the title', async () => {
    const { directory, flag } = await store('broken')
    await new FileSessionRepository({ directory }).updateSession({ sessionId: 'broken', title: 'Keep me' })
    await damageAgentRoster(directory, 'broken')

    const show = await runTether(['sessions', 'show', 'broken', '--store', flag])
    expect(show.code).toBe(1)
    expect(show.stderr).toMatch(
      /Damaged session record at .*session\.db: .*roster.*`tether sessions repair SESSION`/,
    )
    const verify = await runTether(['sessions', 'verify', '--store', flag])
    expect(verify.code).toBe(3)

    const repair = await runTether(['sessions', 'repair', 'broken', '--store', flag])
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.stdout).toMatch(/damaged-session-record\s+repaired\s+.*roster.* kept at .*quarantine/)
    const kept = await readdir(join(directory, 'broken', 'quarantine'))
    expect(await readFile(join(directory, 'broken', 'quarantine', kept[0] ?? ''), 'utf8')).toBe('{"agents":')
    await expectAllMessages(flag, 'broken')
    // Only the roster was damaged: the session record, and the title in it, stay as they were.
    expect((await new FileSessionRepository({ directory }).readSession({ sessionId: 'broken' }))?.title).toBe(
      'Keep me',
    )
    expect((await runTether(['sessions', 'verify', '--store', flag])).code).toBe(0)
  })

  it('a damaged agent record: errors say "agent record", repair resets it keeping the bytes, every message stays', async () => {
    const { directory, flag } = await store('agentless')
    await damageAgentRecord(directory, 'agentless')
    const show = await runTether(['sessions', 'show', 'agentless', '--store', flag])
    expect(show.code).toBe(1)
    expect(show.stderr).toMatch(
      /Damaged agent record at .*session\.db \(agent "default"\): checksum mismatch/,
    )
    expect(show.stderr).not.toContain('session record')

    const repair = await runTether(['sessions', 'repair', 'agentless', '--store', flag])
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.stdout).toMatch(/^default\s+-\s+damaged-agent-record\s+repaired/m)
    const kept = await readdir(join(directory, 'agentless', 'agents', 'default', 'quarantine'))
    expect(kept.some((name) => name.startsWith('agent-record'))).toBe(true)
    await expectAllMessages(flag, 'agentless')
  })

  it('chat reports a damaged agent record as the agent record, not as "message 0"', async () => {
    const { directory, flag } = await store('user-1')
    await damageAgentRecord(directory, 'user-1')
    server.reply(openAIStream({ text: 'Still here.' }))
    const chat = await runTether(
      [
        'chat',
        '--session',
        'user-1',
        '--store',
        flag,
        '--provider',
        'openai',
        '--base-url',
        `${server.url}/v1`,
        '--model',
        'm',
      ],
      { input: 'hello\n' },
    )
    expect(chat.code, chat.stderr).toBe(0)
    expect(chat.stderr).toMatch(
      /^repaired the agent record: checksum mismatch.*session\.db \(agent "default"\); agent state was reset/m,
    )
    expect(chat.stderr).not.toContain('repaired message 0')
    expect(server.body(0).messages).toHaveLength(5)
  })

  it('delete needs no readable record, and removes leftovers that verify finds', async () => {
    const { directory, flag } = await store('broken', 'kept')
    await damageSessionRecord(directory, 'broken')
    const deleted = await runTether(['sessions', 'delete', 'broken', '--store', flag])
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(deleted.stdout).toContain('deleted session broken from')
    expect(await readdir(directory)).toEqual(['kept'])

    // A delete that raced a writer: the writer, keeping damaged bytes aside, recreated the agent's
    // folder after the session's database was gone, so records are stored with no session record.
    const leftover = join(directory, 'ghost', 'agents', 'default', 'quarantine')
    await mkdir(leftover, { recursive: true })
    await writeFile(join(leftover, 'message-000000000000-1.damaged'), '{"schemaVersion":1,')
    const verify = await runTether(['sessions', 'verify', '--store', flag])
    expect(verify.code).toBe(3)
    expect(verify.stdout).toMatch(
      /^ghost\s+leftover\s+records without a session record .*`tether sessions delete ID --force` removes them/m,
    )
    const show = await runTether(['sessions', 'show', 'ghost', '--store', flag])
    expect(show.code).toBe(1)
    const removed = await runTether(['sessions', 'delete', 'ghost', '--store', flag, '--force'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(await readdir(directory)).toEqual(['kept'])
    expect((await runTether(['sessions', 'verify', '--store', flag])).code).toBe(0)
  })

  it('copy --all backs up a session whose record is damaged, with every message', async () => {
    const { directory, flag } = await store('healthy', 'broken')
    await damageSessionRecord(directory, 'broken')
    const backup = `file:${await tempDirectory()}`
    const copy = await runTether(['sessions', 'copy', '--all', '--store', flag, '--to', backup])
    expect(copy.code, copy.stdout + copy.stderr).toBe(0)
    expect(copy.stdout).toContain('copied 2 sessions (8 messages)')
    expect(copy.stdout).toContain('copied broken: its session record was damaged; copied with a new one')
    await expectAllMessages(backup, 'broken')
    const one = await runTether([
      'sessions',
      'copy',
      'broken',
      '--store',
      flag,
      '--to',
      `file:${await tempDirectory()}`,
    ])
    expect(one.code, one.stderr).toBe(0)
  })
})
