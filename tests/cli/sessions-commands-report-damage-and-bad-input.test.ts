import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { runTether } from '../support/cli-run.ts'
import { damageMessageFile, damageSessionRecord, seedChat } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

describe('tether sessions with damaged records and bad input', () => {
  const tempDirectory = useTempDirectories()
  const store = async () => {
    const directory = await tempDirectory()
    return { directory, flag: `file:${directory}`, repository: new FileSessionRepository({ directory }) }
  }

  it('show marks a damaged record unreadable; repair keeps it aside; show then marks the repair', async () => {
    const { directory, flag, repository } = await store()
    await seedChat(repository, 'torn', 2)
    await damageMessageFile(directory, 'torn', 1)

    const before = await runTether(['sessions', 'show', 'torn', '--store', flag])
    expect(before.code).toBe(0)
    expect(before.stdout).toMatch(
      /^#1 {2}\[unreadable: checksum mismatch: the stored bytes changed at .*session\.db \(agent "default", message 1\); run `tether sessions repair torn`\]$/m,
    )
    expect(before.stdout).toContain('#2  user\n    Question 2?')

    const verify = await runTether(['sessions', 'verify', '--store', flag])
    expect(verify.code).toBe(3)
    expect(verify.stdout).toMatch(/^torn\s+damaged\s+#1 damaged-record$/m)

    const repair = await runTether(['sessions', 'repair', 'torn', '--store', flag, '--json'])
    const report = JSON.parse(repair.stdout) as {
      agents: { repairs: { kind: string; written: boolean }[] }[]
    }
    expect(report.agents[0]?.repairs[0]).toMatchObject({ kind: 'damaged-record', written: true })

    const after = await runTether(['sessions', 'show', 'torn', '--store', flag, '--json'])
    const shown = JSON.parse(after.stdout) as {
      agents: { messages: { index: number; damaged?: { keptAs: string } }[] }[]
    }
    expect(shown.agents[0]?.messages[1]?.damaged?.keptAs).toMatch(/quarantine/)
    expect((await runTether(['sessions', 'show', 'torn', '--store', flag])).stdout).toMatch(
      /^#1 {2}user {2}\[repaired: checksum mismatch: the stored bytes changed; the damaged bytes are at .*quarantine.*\]\n {4}\[A stored message could not be read/m,
    )
    expect((await runTether(['sessions', 'verify', '--store', flag])).code).toBe(0)
  })

  it('a session whose own record is damaged is reported by list and verify, copied by copy, and the rest still work', async () => {
    const { directory, flag, repository } = await store()
    await seedChat(repository, 'healthy', 1)
    await seedChat(repository, 'broken', 1)
    await damageSessionRecord(directory, 'broken')

    const list = await runTether(['sessions', 'list', '--store', flag, '--json'])
    expect(list.code).toBe(0)
    const listed = JSON.parse(list.stdout) as { sessions: { sessionId: string; problem?: string }[] }
    expect(listed.sessions.map((session) => session.sessionId)).toContain('healthy')
    const broken = listed.sessions.find((session) => session.problem !== undefined)
    expect(broken?.sessionId).toContain(join('broken', 'session.db'))
    expect(broken?.problem).toContain('Damaged session record')

    const verify = await runTether(['sessions', 'verify', '--store', flag])
    expect(verify.code).toBe(3)
    expect(verify.stdout).toMatch(/broken.session\.db\s+unreadable/)

    const backup = await tempDirectory()
    const copy = await runTether(['sessions', 'copy', '--all', '--store', flag, '--to', `file:${backup}`])
    // The damaged session is backed up too (every-damaged-record-can-be-recovered-from-the-cli.test.ts).
    expect(copy.code).toBe(0)
    expect(copy.stdout).toContain('copied broken: its session record was damaged; copied with a new one')
    expect(
      (await new FileSessionRepository({ directory: backup }).listSessions()).sessions.map(
        (s) => s.sessionId,
      ),
    ).toEqual(['broken', 'healthy'])
  })

  it('export of a damaged session fails with one line pointing at repair', async () => {
    const { directory, flag, repository } = await store()
    await seedChat(repository, 'torn', 1)
    await damageMessageFile(directory, 'torn', 0)
    const run = await runTether(['sessions', 'export', 'torn', '--store', flag])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /^tether: Damaged message record at .*session\.db \(agent "default", message 0\): checksum mismatch: .*`tether sessions repair SESSION` to keep it aside and put a placeholder in its place\.\n$/,
    )
  })

  it('import validates the export: a gap in the messages or a newer format is refused with the reason', async () => {
    const { flag, repository } = await store()
    await seedChat(repository, 'user-7', 2)
    const lines = (
      await runTether(['sessions', 'export', 'user-7', '--store', flag, '--format', 'jsonl'])
    ).stdout
      .trim()
      .split('\n')
    const target = `file:${await tempDirectory()}`

    const gap = [...lines.slice(0, 3), ...lines.slice(4)].join('\n')
    const refused = await runTether(['sessions', 'import', '--store', target], { input: gap })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^tether: Invalid stdin: agents\.0\.messages\.1: expected message 1 of agent "default"/,
    )

    const newer = lines.map((line, index) =>
      index === 0 ? line.replace('"schemaVersion":1', '"schemaVersion":2') : line,
    )
    const file = join(await tempDirectory(), 'newer.jsonl')
    await writeFile(file, newer.join('\n'))
    const tooNew = await runTether(['sessions', 'import', file, '--store', target])
    expect(tooNew.code).toBe(1)
    expect(tooNew.stderr).toContain(
      'schemaVersion: 2 is newer than this tether reads (1); upgrade tether-agents',
    )

    const listing = await runTether(['sessions', 'list', '--store', target, '--json'])
    expect(JSON.parse(listing.stdout).sessions).toEqual([])
  })

  it('a wrong command line exits 2 with one line naming the problem; --debug adds the stack', async () => {
    const { flag } = await store()
    const cases: [string[], RegExp][] = [
      [['sessions', 'show', '--store', flag], /^tether: Missing <id>: tether sessions show <id>\n$/],
      [
        ['sessions', 'list', '--colour'],
        /^tether: Unknown option '--colour' \(tether sessions list --help lists the options\)\.\n$/,
      ],
      [['sessions', 'export', 'x', '--format', 'xml'], /^tether: --format: expected json or jsonl/],
      [
        ['sessions', 'copy', '--store', flag, '--to', flag, '--all'],
        /^tether: --to names the store the sessions are in/,
      ],
      [
        ['sessions', 'copy', '--store', flag, '--to', 'file:/elsewhere'],
        /^tether: Name one session to copy, or pass --all/,
      ],
      [
        ['sessions', 'list', '--store', 'ftp://host/x'],
        /^tether: The store "ftp:\/\/host\/x" is not one tether knows/,
      ],
      [
        ['sessions', 'frobnicate'],
        /^tether: Unknown command "frobnicate"; `tether sessions --help` lists the commands\.\n$/,
      ],
    ]
    for (const [args, stderr] of cases) {
      const run = await runTether(args)
      expect(run.stderr, args.join(' ')).toMatch(stderr)
      expect(run.code, args.join(' ')).toBe(2)
    }
    const debug = await runTether(['sessions', 'list', '--store', flag, '--colour', '--debug'])
    expect(debug.code).toBe(2)
    expect(debug.stderr).toMatch(/\n\s+at /)
  })
})
