# Where .ci/tools.sh keeps what it builds, outside git; sourced, not run.
# ECADRAFT_TOOLS_CACHE overrides the default /var/cache/ecadraft/tools (or
# ~/.cache/ecadraft/tools where /var/cache is not writable).
if [ -z "${ECADRAFT_TOOLS_CACHE:-}" ]; then
  if mkdir -p /var/cache/ecadraft/tools 2>/dev/null && [ -w /var/cache/ecadraft/tools ]; then
    ECADRAFT_TOOLS_CACHE=/var/cache/ecadraft/tools
  else
    ECADRAFT_TOOLS_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/ecadraft/tools
  fi
fi
export ECADRAFT_TOOLS_CACHE
tools_dir() { echo "$ECADRAFT_TOOLS_CACHE/$1-$2"; }
