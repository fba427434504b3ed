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
    createSession: (a) => (count('createSession'), inner.createSession(a)),
    readSession: (a) => (count('readSession'), inner.readSession(a)),
    listSessions: (a) => (count('listSessions'), inner.listSessions(a)),
    deleteSession: (a) => (count('deleteSession'), inner.deleteSession(a)),
    writeAgent: (a) => (count('writeAgent'), inner.writeAgent(a)),
    readAgent: (a) => (count('readAgent'), inner.readAgent(a)),
    listAgents: (a) => (count('listAgents'), inner.listAgents(a)),
    appendMessage: (a) => (count('appendMessage'), inner.appendMessage(a)),
    readMessages: async (a) => {
      count('readMessages')
      const records = await inner.readMessages(a)
      messagesRead += records.length
      return records
    },
    countMessages: (a) => (count('countMessages'), inner.countMessages(a)),
    updateMessage: (a) => (count('updateMessage'), inner.updateMessage(a)),
    quarantineMessage: (a) => (count('quarantineMessage'), inner.quarantineMessage(a)),
  }
  return { repository, calls: (method: Method) => calls.get(method) ?? 0, messagesRead: () => messagesRead }
}
