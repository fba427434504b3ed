/** `tether-agents/testing`: deterministic parts for your own tests. */
export {
  ScriptedModel,
  type ScriptedModelOptions,
  type ScriptedResponse,
  type ScriptStep,
} from './scripted-model.ts'
