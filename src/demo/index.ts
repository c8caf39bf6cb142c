// The Seaside-style demo application: a counter and a multi-step form whose state lives only in
// the memory of the node that served the first request.
export { createDemoApp, type DemoApp, type DemoAppOptions } from './app.js';
export { startDemoNode, type DemoNode, type DemoNodeOptions } from './server.js';
