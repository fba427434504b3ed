import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  type LogFields,
  type Logger,
  RepositorySessionManager,
} from '../../src/index.ts'
import { enabledBy } from '../../src/logging/debug-logger.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { seedInterruptedToolCall } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

function collectingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const at = (level: string) => (message: string, _fields?: LogFields) => {
    lines.push(`${level} ${message}`)
  }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

const script = join(import.meta.dirname, '..', 'support', 'restore-session-script.ts')

describe('logging', () => {
  const tempDirectory = useTempDirectories()

  it('a logger option hears the restore window, the repairs and another writer’s turns', async () => {
    const directory = await tempDirectory()
    await seedInterruptedToolCall(new FileSessionRepository({ directory }), 'user-9')
    const logger = collectingLogger()
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      logger,
      sessionManager: new RepositorySessionManager({
        sessionId: 'user-9',
        repository: new FileSessionRepository({ directory }),
      }),
    })
    await agent.initialize()
    expect(logger.lines).toEqual([
      'debug restored session user-9: messages 0-3 of 3',
      expect.stringMatching(/^warn session user-9: repaired interrupted-tool-use at message 1: /),
    ])

    // Another process takes a turn on the same session; this agent's next run re-reads it.
    const other = new Agent({
      model: new ScriptedModel({ fallback: { text: 'from elsewhere' } }),
      sessionManager: new RepositorySessionManager({
        sessionId: 'user-9',
        repository: new FileSessionRepository({ directory }),
      }),
    })
    await other.run('Hello from another device')
    logger.lines.length = 0
    await agent.run('And here?')
    expect(logger.lines).toEqual(['info session user-9: another writer appended 2 messages; read them'])
  })

  it('DEBUG=tether:* prints the decisions on stderr; without DEBUG the library is silent', async () => {
    const directory = await tempDirectory()
    await seedInterruptedToolCall(new FileSessionRepository({ directory }), 'user-9')
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, [script, directory, 'user-9'], {
        env: { ...process.env, ...env },
      })

    const debug = await run({ DEBUG: 'tether:*' })
    expect(debug.stderr.split('\n')).toEqual([
      'tether:session debug restored session user-9: messages 0-3 of 3 {"agentId":"default","windowStart":0,"messagesInContext":3}',
      expect.stringMatching(
        /^tether:session warn session user-9: repaired interrupted-tool-use at message 1: .*\{"written":true\}$/,
      ),
      '',
    ])

    // The same restore, now needing no repair, and the repair of a second copy, print nothing without DEBUG.
    await seedInterruptedToolCall(new FileSessionRepository({ directory }), 'user-10')
    for (const sessionId of ['user-9', 'user-10']) {
      const silent = await promisify(execFile)(process.execPath, [script, directory, sessionId], {
        env: { ...process.env, DEBUG: '' },
      })
      expect(silent.stdout).toBe('3 messages\n')
      expect(silent.stderr).toBe('')
    }
  })

  it('DEBUG patterns select namespaces like the debug package: globs, lists, exclusions', () => {
    expect(enabledBy('tether:*', 'tether:session')).toBe(true)
    expect(enabledBy('*', 'tether:agent')).toBe(true)
    expect(enabledBy('express:*,tether:session', 'tether:session')).toBe(true)
    expect(enabledBy('tether:*,-tether:agent', 'tether:agent')).toBe(false)
    expect(enabledBy('tether:agent', 'tether:session')).toBe(false)
    expect(enabledBy(undefined, 'tether:session')).toBe(false)
  })
})
