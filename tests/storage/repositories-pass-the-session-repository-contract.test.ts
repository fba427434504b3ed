import { describe, it } from 'vitest'
import { FileSessionRepository, MemorySessionRepository } from '../../src/index.ts'
import { sessionRepositoryContract } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

describe('FileSessionRepository passes the SessionRepository contract', () => {
  const tempDirectory = useTempDirectories()
  for (const contractCase of sessionRepositoryContract(async () => {
    const directory = await tempDirectory()
    return () => new FileSessionRepository({ directory })
  })) {
    it(contractCase.name, contractCase.run)
  }
})

describe('MemorySessionRepository passes the SessionRepository contract', () => {
  for (const contractCase of sessionRepositoryContract(() => {
    const repository = new MemorySessionRepository()
    return () => repository
  })) {
    it(contractCase.name, contractCase.run)
  }
})
