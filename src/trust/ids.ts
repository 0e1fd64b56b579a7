/**
 * Workflow ids of key rotations and ceremonies: both name their trust store, so the worker can
 * tell which store a run is for and the index can tell which store a key came from. No I/O.
 */

/** Rotations are `key-rotation-<trust>-<time>`; the schedule that starts them is `key-rotation-<trust>`. */
export const ROTATION_SCHEDULE_PREFIX = 'key-rotation-';
const CEREMONY_PREFIX = 'key-ceremony-';

/** The id of the schedule that rotates a trust store's key. */
export function rotationScheduleId(trust: string): string {
  return `${ROTATION_SCHEDULE_PREFIX}${trust}`;
}

/** The workflow id of a rotation started by hand at `now`. */
export function rotationIdFor(trust: string, now: Date): string {
  return `${rotationScheduleId(trust)}-${now.toISOString().replace(/\.\d+Z$/, 'Z')}`;
}

/** The ceremony run by a rotation: `key-rotation-…` becomes `key-ceremony-…`. */
export function ceremonyIdFor(rotationId: string): string {
  return rotationId.startsWith(ROTATION_SCHEDULE_PREFIX) ? `${CEREMONY_PREFIX}${rotationId.slice(ROTATION_SCHEDULE_PREFIX.length)}` : `${rotationId}-ceremony`;
}

/** The rotation a ceremony id belongs to (the inverse of ceremonyIdFor), or undefined. */
export function rotationIdOf(ceremonyId: string): string | undefined {
  return ceremonyId.startsWith(CEREMONY_PREFIX) ? `${ROTATION_SCHEDULE_PREFIX}${ceremonyId.slice(CEREMONY_PREFIX.length)}` : undefined;
}

/** True when `rotationId` is a rotation of `trust` (by hand or by its schedule): the store's prefix, then a date. */
export function isRotationOf(rotationId: string, trust: string): boolean {
  return rotationId.startsWith(`${rotationScheduleId(trust)}-`) && /^\d{4}-\d{2}-\d{2}T/.test(rotationId.slice(rotationScheduleId(trust).length + 1));
}
