/** `tether-agents/testing`: deterministic parts for your own tests. */
export {
  ScriptedModel,
  type ScriptedModelOptions,
  type ScriptedResponse,
  type ScriptStep,
} from './scripted-model.ts'
export {
  type ContractCase,
  type OpenRepository,
  sessionListingContract,
  sessionRepositoryContract,
  TRICKY_SESSION_IDS,
} from './session-repository-contract.ts'
