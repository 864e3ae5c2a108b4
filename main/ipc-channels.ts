/** IPC channel names shared by the main process and the preload. */
export const IPC = {
  invoke: 'workbench:invoke',
  event: 'workbench:event',
  chooseModelFiles: 'workbench:choose-model-files',
  chooseProbePath: 'workbench:choose-probe-path',
} as const;
