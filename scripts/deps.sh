#!/usr/bin/env bash
# Installs what stload needs to build, test and run its example: Debian packages, then the Python
# packages the cross-check and the example use. Idempotent; silent when everything is present.
set -euo pipefail

APT_PACKAGES=(cmake ninja-build g++ rapidjson-dev libgtest-dev libssl-dev libdlpack-dev
              python3 python3-pip clang-14)
PIP_PACKAGES=(safetensors numpy)
PYTHON=${PYTHON:-python3}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for package in "${APT_PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "deps: installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

have_python_packages() {  # find_spec, not import: numpy takes a second to import
  "$PYTHON" -c 'import importlib.util as u, sys
sys.exit(0 if all(u.find_spec(m) for m in sys.argv[1:]) else 1)' "${PIP_PACKAGES[@]}" 2>/dev/null
}

if ! have_python_packages; then
  echo "deps: installing Python packages: ${PIP_PACKAGES[*]}"
  pip=("$PYTHON" -m pip install --quiet --disable-pip-version-check)
  # Debian's own interpreter is externally managed (PEP 668): fall back to the user site.
  if ! "${pip[@]}" "${PIP_PACKAGES[@]}" 2>/dev/null &&
     ! "${pip[@]}" --user --break-system-packages "${PIP_PACKAGES[@]}"; then
    # Not fatal: the build and the C++ tests need neither; the cross-check reports itself skipped.
    echo "deps: WARNING: could not install ${PIP_PACKAGES[*]} for $PYTHON" >&2
  fi
fi
