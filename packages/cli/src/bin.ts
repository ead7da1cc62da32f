#!/usr/bin/env node
import { main } from './main.js';
import { exitQuietlyOnBrokenPipe } from './output.js';

exitQuietlyOnBrokenPipe();
process.exitCode = await main(process.argv);
