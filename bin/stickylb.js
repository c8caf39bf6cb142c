#!/usr/bin/env node
// The stickylb command: runs the compiled CLI (npm install builds it through the prepare script).
import '../dist/cli/bin.js';
