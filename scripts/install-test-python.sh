#!/bin/sh
# install-test-python.sh: installs the Python tools the test suite uses into a virtual environment
# (Debian's pip refuses system-wide installs): schemathesis, which FuzzTests runs against docs/openapi.yaml,
# jsonschema, which the format tests use to check sidecars and events against docs/*.schema.json, and guano
# (the GUANO reference implementation), which the metadata tests use to read the files' guan chunks.
#   VENV (default /opt/audiocap-test-venv, or $AUDIOCAP_TEST_VENV): where the environment goes; the tests
#   look there too. Needs python3 with venv (Debian: python3-venv) and access to PyPI. Safe to run again.
set -eu
venv="${1:-${AUDIOCAP_TEST_VENV:-/opt/audiocap-test-venv}}"
python="${PYTHON:-python3}"
if ! "$python" -c "import venv, ensurepip" >/dev/null 2>&1; then
    echo "install-test-python.sh: $python cannot make a virtual environment; install python3-venv (apt-get install python3-venv)" >&2
    exit 1
fi
[ -x "$venv/bin/pip" ] || "$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5" "jsonschema==4.25.1" \
    "guano==1.0.16" "moto[server]==5.2.5"
echo "install-test-python.sh: $("$venv/bin/schemathesis" --version) in $venv"
