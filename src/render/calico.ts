// Stub: replaced by the real renderer.
import type { Plan } from '../plan/types.js';
import type { Artifact } from './types.js';

export function renderCalico(_plan: Plan): Artifact[] {
  return [];
}
