/**
 * The `tether` exit codes (documented in docs/cli.md; scripts branch on them, so they never change
 * meaning).
 */
export const ExitCode = {
  ok: 0,
  /** The command failed: storage, network, a provider, a session that does not exist. */
  failure: 1,
  /** The command line or configuration is wrong (unknown flag, bad value, no model configured). */
  usage: 2,
  /** `sessions verify` found damaged sessions (run `sessions repair <id>`). */
  damaged: 3,
  /** Interrupted by SIGINT while idle (128 + signal 2, as shells report it). */
  interrupted: 130,
} as const
