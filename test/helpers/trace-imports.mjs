// Preloaded into a child process (`node --import`): appends the URL of every module the process
// loads (Node built-ins aside) to the file named by CKAWB_IMPORTS_FILE, one per line.
import { register } from 'node:module';

if (process.env.CKAWB_IMPORTS_FILE) register(new URL('./trace-imports-hooks.mjs', import.meta.url));
