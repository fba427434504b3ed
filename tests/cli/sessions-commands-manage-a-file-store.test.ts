import { FileSessionRepository } from '../../src/index.ts'
import { sessionsCommandsContract } from '../support/cli-sessions-contract.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const tempDirectory = useTempDirectories()

sessionsCommandsContract('a file store', async () => {
  const directory = await tempDirectory()
  return {
    args: ['--store', `file:${directory}`],
    toArgs: ['--to', `file:${directory}`],
    label: `file:${directory}`,
    repository: new FileSessionRepository({ directory }),
  }
})
