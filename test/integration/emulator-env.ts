// Imported first by the emulator tests: a private state root, set before src/paths.ts is
// evaluated (it reads FABRIC_LAB_STATE once, at import).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

process.env.FABRIC_LAB_STATE = mkdtempSync(path.join(tmpdir(), 'emulator-it-'));
