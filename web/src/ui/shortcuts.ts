/** Platform-aware labels for the shortcuts shown in tooltips. */
export const isMac = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

export const modKey = isMac ? '⌘' : 'Ctrl';

export const shortcut = {
  undo: `${modKey}+Z`,
  redo: isMac ? '⌘+Shift+Z' : 'Ctrl+Y / Ctrl+Shift+Z',
  toggleSidebar: `${modKey}+Shift+B`,
  tabFocus: isMac ? 'Ctrl+Shift+M' : 'Ctrl+M',
  commandPalette: 'F1',
  run: `${modKey}+Enter`,
};
