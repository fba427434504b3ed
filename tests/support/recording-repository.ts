import type { SessionRepository } from '../../src/index.ts'

type Method = {
  [K in keyof SessionRepository]: SessionRepository[K] extends (...args: never[]) => unknown ? K : never
}[keyof SessionRepository]

/** Forwards to a repository and counts calls per method and message records read. */
export function recordingRepository(inner: SessionRepository) {
  const calls = new Map<Method, number>()
  let messagesRead = 0
  const count = (method: Method) => calls.set(method, (calls.get(method) ?? 0) + 1)
  const repository: SessionRepository = {
    createSession: (a) => {
      count('createSession')
      return inner.createSession(a)
    },
    readSession: (a) => {
      count('readSession')
      return inner.readSession(a)
    },
    listSessions: (a) => {
      count('listSessions')
      return inner.listSessions(a)
    },
    updateSession: (a) => {
      count('updateSession')
      return inner.updateSession(a)
    },
    deleteSession: (a) => {
      count('deleteSession')
      return inner.deleteSession(a)
    },
    writeAgent: (a) => {
      count('writeAgent')
      return inner.writeAgent(a)
    },
    readAgent: (a) => {
      count('readAgent')
      return inner.readAgent(a)
    },
    listAgents: (a) => {
      count('listAgents')
      return inner.listAgents(a)
    },
    appendMessage: (a) => {
      count('appendMessage')
      return inner.appendMessage(a)
    },
    readMessages: async (a) => {
      count('readMessages')
      const records = await inner.readMessages(a)
      messagesRead += records.length
      return records
    },
    countMessages: (a) => {
      count('countMessages')
      return inner.countMessages(a)
    },
    updateMessage: (a) => {
      count('updateMessage')
      return inner.updateMessage(a)
    },
    quarantineMessage: (a) => {
      count('quarantineMessage')
      return inner.quarantineMessage(a)
    },
  }
  return { repository, calls: (method: Method) => calls.get(method) ?? 0, messagesRead: () => messagesRead }
}
