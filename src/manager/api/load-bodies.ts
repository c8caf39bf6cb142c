// The body schemas of the manager's JSON API (and zod with them) load on demand: with the first
// change, or at setup when the config serves the manager (manager/plugins.ts). One place names
// the module, so both load the same file.
export const loadBodies = () => import('./bodies.js');
