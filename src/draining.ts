/**
 * Whether the process is draining: set from the first stop signal, after which
 * readiness fails and every answer closes its connection, so clients move to a
 * pod that stays.
 */
export class Draining {
  active = false;
}
