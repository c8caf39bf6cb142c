// What one demo session remembers. It lives only in the memory of the node that created the
// session: another node has never heard of it, which is what makes sticky sessions necessary.
import { randomToken } from '../cluster/index.js';

export type Page = 'home' | 'counter' | 'form';
export type FormStep = 'name' | 'address' | 'confirm' | 'done';

export interface FormState {
  step: FormStep;
  name: string;
  street: string;
  city: string;
  /** A message for the current step (a missing field). */
  error?: string;
}

/**
 * What an action key (`_k`) stands for: Seaside registers a callback per link or form when it
 * renders a page; following the link runs it. A `form` action remembers the step it was rendered
 * for, so a form submitted from an older page (browser back button) applies to that step.
 */
export type Action =
  | { kind: 'view'; page: Page }
  | { kind: 'count'; delta: number }
  | { kind: 'reset' }
  | { kind: 'form'; step: 'name' | 'address' | 'confirm' }
  | { kind: 'restart' }
  | { kind: 'end' };

export interface DemoState {
  counter: number;
  form: FormState;
  /** Action keys of recent renders, oldest first. */
  actions: Map<string, Action>;
  /** A one-shot message for the next page. */
  notice?: string;
}

/** Action keys kept per session; older ones are forgotten, as Seaside forgets old continuations. */
export const MAX_ACTIONS = 200;

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function newState(): DemoState {
  return { counter: 0, form: { step: 'name', name: '', street: '', city: '' }, actions: new Map() };
}

/** Registers `action` under a fresh key and returns the key. */
export function register(state: DemoState, action: Action): string {
  const key = randomToken(48, KEY_ALPHABET);
  state.actions.set(key, action);
  while (state.actions.size > MAX_ACTIONS) state.actions.delete(state.actions.keys().next().value as string);
  return key;
}

/** The page an action leads to once it has run. */
export function targetOf(action: Action): Page {
  switch (action.kind) {
    case 'view':
      return action.page;
    case 'count':
    case 'reset':
      return 'counter';
    case 'form':
    case 'restart':
      return 'form';
    case 'end':
      return 'home';
  }
}

const MAX_FIELD = 200;

function field(fields: URLSearchParams, name: string): string {
  return (fields.get(name) ?? '').trim().slice(0, MAX_FIELD);
}

/** Runs a GET action (a link). */
export function runLink(state: DemoState, action: Action): void {
  if (action.kind === 'count') state.counter += action.delta;
  else if (action.kind === 'reset') state.counter = 0;
  else if (action.kind === 'restart') state.form = { step: 'name', name: '', street: '', city: '' };
}

/** Runs a form submission for the step the form was rendered for. */
export function runForm(state: DemoState, step: 'name' | 'address' | 'confirm', fields: URLSearchParams): void {
  const f = state.form;
  const back = fields.get('op') === 'back';
  f.error = undefined;
  if (step === 'name') {
    f.name = field(fields, 'name');
    if (!f.name) {
      f.step = 'name';
      f.error = 'Please enter your name.';
    } else f.step = 'address';
  } else if (step === 'address') {
    f.street = field(fields, 'street');
    f.city = field(fields, 'city');
    if (back) f.step = 'name';
    else if (!f.street || !f.city) {
      f.step = 'address';
      f.error = 'Please enter both street and city.';
    } else f.step = 'confirm';
  } else if (back) {
    f.step = 'address';
  } else {
    // A confirm page from before a restart must not confirm an empty form.
    f.step = !f.name ? 'name' : !f.street || !f.city ? 'address' : 'done';
  }
}
