/**
 * Preloaded into a `tether` child process (`node --import`) to make packages look uninstalled:
 * every import of a package named in TETHER_TEST_HIDDEN_PACKAGES (comma-separated) fails exactly as
 * a missing package does. Proves which commands load which optional SDKs.
 */
import { registerHooks } from 'node:module'

const hidden = (process.env.TETHER_TEST_HIDDEN_PACKAGES ?? '').split(',').filter((name) => name !== '')

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (hidden.some((name) => specifier === name || specifier.startsWith(`${name}/`))) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' (hidden by the test)`), {
        code: 'ERR_MODULE_NOT_FOUND',
      })
    }
    return nextResolve(specifier, context)
  },
})
