/**
 * Restores a file session in a fresh process and exits: `node restore-session-script.ts <directory> <sessionId>`.
 * For the logging tests, which set DEBUG the way a user does.
 */
import { Agent, FileSessionRepository, RepositorySessionManager } from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'

const [directory, sessionId] = process.argv.slice(2)
if (!directory || !sessionId) throw new Error('usage: restore-session-script.ts <directory> <sessionId>')
const agent = new Agent({
  model: new ScriptedModel(),
  sessionManager: new RepositorySessionManager({
    sessionId,
    repository: new FileSessionRepository({ directory }),
  }),
})
await agent.initialize()
process.stdout.write(`${agent.messages.length} messages\n`)
