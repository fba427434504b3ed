import type { ConversationManager, ConversationManagerState } from './conversation-manager.ts'

/** Sends the whole conversation every time; an overflow is not handled. */
export class NullConversationManager implements ConversationManager {
  applyManagement(): void {}

  reduceContext(): boolean {
    return false
  }

  getState(): ConversationManagerState {
    return { type: 'null', removedMessageCount: 0 }
  }

  restoreState(): void {}

  /** The whole stored conversation, whatever manager wrote the session. */
  restoreOffset(): number {
    return 0
  }
}
