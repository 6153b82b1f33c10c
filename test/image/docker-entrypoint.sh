#!/bin/sh
# Stand-in for the docker-entrypoint.sh of the official Node.js images, put into
# the local base-image stand-in by test/image/run.sh (not into the ecadraft
# image: its Dockerfile clears ENTRYPOINT and runs node directly).
# Like the official one: run the arguments with node when the first one is an
# option or not a command, then exec them, so the command replaces the shell.
set -e

if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi

exec "$@"
