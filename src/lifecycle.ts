/** Whether the process is stopping: readiness fails from the first stop signal on. */
export class Lifecycle {
  draining = false;
}
