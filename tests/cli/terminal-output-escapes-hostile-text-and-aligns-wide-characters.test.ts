import stringWidth from 'string-width'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

/** Bytes a terminal acts on: ESC, BEL, CR, a one-byte CSI, a bidi override. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const ACTIVE = /[\u001b\u0007\r\u009b\u202e]/

describe('terminal output from a store an attacker wrote to', () => {
  const tempDirectory = useTempDirectories()

  it('list and show print control sequences in IDs and messages as visible escapes, JSON keeps them exactly', async () => {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    const clear = 'x\u001b[2J\u001b[H'
    const clipboard = 'y\u001b]52;c;ZXZpbA==\u0007'
    const fakeRow = 'z\nfake-session  99  1  2026'
    for (const id of [clear, clipboard, fakeRow]) await repository.createSession({ sessionId: id })
    await repository.appendMessage({
      sessionId: clear,
      agentId: 'default',
      message: {
        role: 'user',
        content: [{ type: 'text', text: 'hi\r\u001b[31mroot# \u009b2J\u202etxt.exe' }],
      },
    })
    await repository.writeAgent({
      sessionId: clear,
      agentId: 'default',
      state: {},
      conversationManagerState: null,
      windowStart: 0,
    })
    const flag = `file:${directory}`

    const list = await runTether(['sessions', 'list', '--store', flag])
    expect(list.code).toBe(0)
    expect(list.stdout).not.toMatch(ACTIVE)
    expect(list.stdout).toContain('x\\u001b[2J\\u001b[H')
    expect(list.stdout).toContain('y\\u001b]52;c;ZXZpbA==\\u0007')
    // The fake row stays inside its own cell: no line starts with it.
    expect(list.stdout).not.toMatch(/^fake-session/m)
    expect(list.stdout).toContain('z\\u000afake-session')

    const show = await runTether(['sessions', 'show', clear, '--store', flag])
    expect(show.code).toBe(0)
    expect(show.stdout).not.toMatch(ACTIVE)
    expect(show.stdout).toContain('hi\\u000d\\u001b[31mroot# \\u009b2J\\u202etxt.exe')

    const json = await runTether(['sessions', 'list', '--store', flag, '--json'])
    expect(json.stdout).not.toMatch(ACTIVE)
    const parsed = JSON.parse(json.stdout) as { sessions: { sessionId: string }[] }
    expect(parsed.sessions.map((session) => session.sessionId).sort()).toEqual(
      [clear, clipboard, fakeRow].sort(),
    )

    const missing = await runTether(['sessions', 'show', 'nope\u001b[2J', '--store', flag])
    expect(missing.code).toBe(1)
    expect(missing.stderr).not.toMatch(ACTIVE)
    expect(missing.stderr).toContain('nope\\u001b[2J')
  })

  it('columns line up as the terminal shows CJK and emoji IDs (two columns each)', async () => {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    const ids = ['会话-北京', '🙂🙂-chat', 'plain-ascii-id', 'e\u0301t\u00e9']
    for (const id of ids) await seedChat(repository, id, 1)
    const list = await runTether(['sessions', 'list', '--store', `file:${directory}`])
    expect(list.code).toBe(0)
    const rows = list.stdout.split('\n').filter((line) => ids.some((id) => line.startsWith(id)))
    expect(rows).toHaveLength(ids.length)
    const header = list.stdout.split('\n')[0] ?? ''
    const column = stringWidth(header.slice(0, header.indexOf('MESSAGES')))
    for (const row of rows) {
      // Everything before the message count takes exactly the width of the header's first column.
      const count = row.search(/ {2}2 {2}/)
      expect(stringWidth(row.slice(0, count + 2)), row).toBe(column)
    }
  })
})
