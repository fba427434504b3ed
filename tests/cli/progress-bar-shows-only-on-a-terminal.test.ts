import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { cleanEnvironment, runTether, TETHER_BIN } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { findTmux, TmuxPane } from '../support/cli-tmux.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const tmux = findTmux()
const SESSIONS = 25

describe('the progress bar for work over many sessions', () => {
  const tempDirectory = useTempDirectories()
  let pane: TmuxPane | undefined
  afterEach(async () => {
    await pane?.kill()
  })

  const seededStore = async () => {
    const directory = await tempDirectory()
    const repository = new FileSessionRepository({ directory })
    for (let index = 0; index < SESSIONS; index++) await seedChat(repository, `user-${index}`, 1)
    return directory
  }

  it('is never printed when stdout is not a terminal', async () => {
    const directory = await seededStore()
    for (const command of ['list', 'verify']) {
      const run = await runTether(['sessions', command, '--store', `file:${directory}`])
      expect(run.code).toBe(0)
      expect(run.stderr).toBe('')
    }
  })

  it.skipIf(tmux === undefined)(
    `is drawn on a terminal and cleared when done${tmux === undefined ? ' (skipped: tmux is not installed)' : ''}`,
    async () => {
      const directory = await seededStore()
      const recording = join(await tempDirectory(), 'terminal.log')
      // The command waits for Enter, so the recording is in place before it prints anything.
      const argv = ['sh', '-c', 'read _; exec "$@"', 'sh', process.execPath, TETHER_BIN, 'sessions', 'verify']
      pane = await TmuxPane.start(
        tmux ?? '',
        [...argv, '--store', `file:${directory}`],
        cleanEnvironment(),
        process.cwd(),
      )
      await pane.recordTo(recording)
      await pane.press('Enter')
      expect(await pane.waitForExit()).toBe(0)
      const printed = await readFile(recording, 'utf8')
      expect(printed).toMatch(new RegExp(`Verifying sessions \\[[^\\]]*\\] \\d+/${SESSIONS}`))
      // What is left on the screen is the result alone (and the test's own exit line, and tmux's).
      const screen = (await pane.capture())
        .split('\n')
        .filter((line) => line.trim() !== '' && !/^(\[exited \d+\]|Pane is dead)/.test(line))
      expect(screen).toEqual([`checked ${SESSIONS} sessions in file:${directory}: ${SESSIONS} ok, 0 damaged`])
    },
  )
})
