import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { cleanEnvironment, TETHER_BIN } from '../support/cli-run.ts'
import { findTmux, TmuxPane } from '../support/cli-tmux.ts'
import { openAIStream } from '../support/openai-wire-format.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { WireServer } from '../support/wire-server.ts'

const tmux = findTmux()
const SLOW_TEXT = 'Counting: one, two, three, four, five, six, seven, eight, nine, ten, the end.'

// Said in the test name, so a run without tmux shows why this proof was skipped.
const skipped = tmux === undefined ? ' (skipped: tmux is not installed; .ci/run installs it)' : ''

describe.skipIf(tmux === undefined)(`tether chat in a terminal${skipped}`, () => {
  const tempDirectory = useTempDirectories()
  let server: WireServer
  let pane: TmuxPane | undefined
  beforeEach(async () => {
    server = await WireServer.start()
  })
  afterEach(async () => {
    await pane?.kill()
    await server.close()
  })

  it('streams a reply as it arrives, cancels it on Ctrl-C, goes on chatting, and quits on Ctrl-D', async () => {
    const directory = await tempDirectory()
    // (capture-pane drops trailing spaces: the `> ` prompt reads as `>`.)
    // 4 characters every 150 ms: the reply takes ~3 s, long enough to see it half done and cancel it.
    server.reply(
      { ...openAIStream({ text: SLOW_TEXT }), chunkDelayMs: 150 },
      openAIStream({ text: 'Still here.' }),
    )
    const argv = chatArgv(directory)
    pane = await startChat(argv)
    await pane.waitFor((screen) => /^>$/m.test(screen), 'the prompt')
    expect(await pane.capture()).toContain('new session terminal')

    await pane.type('Count to ten, slowly.')
    await pane.press('Enter')
    const partial = await pane.waitFor(
      (screen) => screen.includes('Counting: one, two'),
      'the reply to start',
    )
    expect(partial, 'the reply shows before the model has finished it').not.toContain('the end.')

    await pane.press('C-c')
    const cancelled = await pane.waitFor((screen) => screen.includes('[cancelled]'), 'the cancel')
    expect(cancelled).not.toContain('the end.')
    await pane.waitFor((screen) => /\[cancelled\]\n>$/.test(screen), 'the prompt after the cancel')

    await pane.type('Are you still there?')
    await pane.press('Enter')
    await pane.waitFor((screen) => /Still here\.\n>$/.test(screen), 'the second reply')
    // The cancelled reply was not stored; the prompt was, and the model sees it with the next one.
    expect(server.body(1).messages).toEqual([
      { role: 'user', content: 'Count to ten, slowly.\nAre you still there?' },
    ])

    await pane.press('C-d')
    expect(await pane.waitForExit()).toBe(0)
    const repository = new FileSessionRepository({ directory })
    const stored = await repository.readMessages({ sessionId: 'terminal', agentId: 'default' })
    expect(stored.map((record) => record.message.role)).toEqual(['user', 'user', 'assistant'])
  })

  it('Ctrl-C at the prompt clears the line typed so far, and a second Ctrl-C quits', async () => {
    pane = await startChat(chatArgv(await tempDirectory()))
    await pane.waitFor((screen) => /^>$/m.test(screen), 'the prompt')
    await pane.type('half a thought')
    await pane.waitFor((screen) => /^> half a thought$/m.test(screen), 'the typed line')
    await pane.press('C-c')
    const cleared = await pane.waitFor((screen) => !screen.includes('half a thought'), 'the line to clear')
    expect(cleared, 'the first Ctrl-C only drops the typed line').toMatch(/quits\.\n>$/)
    await pane.press('C-c')
    await pane.waitFor((screen) => screen.includes('(Ctrl-C again, Ctrl-D or /exit quits)'), 'the hint')
    await pane.press('C-c')
    expect(await pane.waitForExit()).toBe(0)
    expect(server.requests).toHaveLength(0)
  })

  function chatArgv(directory: string): string[] {
    return [
      process.execPath,
      TETHER_BIN,
      'chat',
      '--session',
      'terminal',
      '--store',
      `file:${directory}`,
      '--provider',
      'openai',
      '--base-url',
      `${server.url}/v1`,
      '--model',
      'llama3.2',
    ]
  }
})

function startChat(argv: string[]): Promise<TmuxPane> {
  return TmuxPane.start(tmux ?? '', argv, cleanEnvironment({ TERM: 'xterm-256color' }), process.cwd())
}
