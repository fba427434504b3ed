import { TetherError, type TetherErrorOptions } from '../errors/tether-error.ts'

/** `run`/`stream` was called while another invocation of the same Agent was still going. */
export class ConcurrentInvocationError extends TetherError {
  constructor() {
    super(
      'concurrent-invocation',
      'This Agent is already running an invocation. Await it first, or use one Agent per concurrent conversation.',
    )
  }
}

/** The tool loop ran more model calls than `maxCycles` allows; the conversation is left valid. */
export class MaxCyclesExceededError extends TetherError {
  readonly maxCycles: number
  constructor(maxCycles: number) {
    super(
      'max-cycles-exceeded',
      `The model kept calling tools for ${maxCycles} cycles; stopped to avoid a loop. Raise maxCycles if this was expected.`,
    )
    this.maxCycles = maxCycles
  }
}

/** The caller's AbortSignal fired. `agent.messages` is left valid for the next run. */
export class InvocationAbortedError extends TetherError {
  constructor(options?: TetherErrorOptions) {
    super('invocation-aborted', 'The invocation was cancelled by its AbortSignal.', options)
  }
}
