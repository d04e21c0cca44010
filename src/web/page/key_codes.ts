/**
 * Browser keys as the engine names them: KeyboardEvent.code (the physical key, layout-independent,
 * as SDL scancodes are) to the SDL scancode name a bindings file uses (src/input/key_names.ts).
 * The page feeds those names to the engine's ActionMapper, so the default bindings
 * (src/input/default_bindings.ts) work in the page unchanged. Codes without an SDL twin here
 * (media keys, IME keys) are ignored.
 */
const NAMED: Readonly<Record<string, string>> = {
  ArrowUp: 'Up',
  ArrowDown: 'Down',
  ArrowLeft: 'Left',
  ArrowRight: 'Right',
  Space: 'Space',
  Enter: 'Return',
  Escape: 'Escape',
  Backspace: 'Backspace',
  Tab: 'Tab',
  CapsLock: 'CapsLock',
  ShiftLeft: 'Left Shift',
  ShiftRight: 'Right Shift',
  ControlLeft: 'Left Ctrl',
  ControlRight: 'Right Ctrl',
  AltLeft: 'Left Alt',
  AltRight: 'Right Alt',
  MetaLeft: 'Left GUI',
  MetaRight: 'Right GUI',
  BracketLeft: '[',
  BracketRight: ']',
  Backslash: '\\',
  Semicolon: ';',
  Quote: "'",
  Backquote: '`',
  Comma: ',',
  Period: '.',
  Slash: '/',
  Minus: '-',
  Equal: '=',
  Insert: 'Insert',
  Delete: 'Delete',
  Home: 'Home',
  End: 'End',
  PageUp: 'PageUp',
  PageDown: 'PageDown',
  PrintScreen: 'PrintScreen',
  ScrollLock: 'ScrollLock',
  Pause: 'Pause',
  NumLock: 'Numlock',
  ContextMenu: 'Application',
  NumpadEnter: 'Keypad Enter',
  NumpadAdd: 'Keypad +',
  NumpadSubtract: 'Keypad -',
  NumpadMultiply: 'Keypad *',
  NumpadDivide: 'Keypad /',
  NumpadDecimal: 'Keypad .',
};

/** The SDL scancode name of a KeyboardEvent.code, or undefined when the engine has none. */
export function sdlKeyName(code: string): string | undefined {
  const named = NAMED[code];
  if (named !== undefined) return named;
  let m = /^Key([A-Z])$/.exec(code);
  if (m) return m[1];
  m = /^Digit([0-9])$/.exec(code);
  if (m) return m[1];
  m = /^Numpad([0-9])$/.exec(code);
  if (m) return `Keypad ${m[1]}`;
  m = /^F([1-9]|1[0-9]|2[0-4])$/.exec(code);
  if (m) return code;
  return undefined;
}
