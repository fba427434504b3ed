import { describe, it } from 'vitest'
import { FileSessionRepository, MemorySessionRepository } from '../../src/index.ts'
import { sessionListingContract, sessionRepositoryContract } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const contract = (fresh: Parameters<typeof sessionRepositoryContract>[0]) => [
  ...sessionRepositoryContract(fresh),
  ...sessionListingContract(fresh),
]

describe('FileSessionRepository passes the SessionRepository contract', () => {
  const tempDirectory = useTempDirectories()
  for (const contractCase of contract(async () => {
    const directory = await tempDirectory()
    return () => new FileSessionRepository({ directory })
  })) {
    it(contractCase.name, contractCase.run)
  }
})

describe('MemorySessionRepository passes the SessionRepository contract', () => {
  for (const contractCase of contract(() => {
    const repository = new MemorySessionRepository()
    return () => repository
  })) {
    it(contractCase.name, contractCase.run)
  }
})
