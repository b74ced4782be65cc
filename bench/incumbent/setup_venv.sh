#!/bin/sh
# Creates bench/incumbent/.venv-tb with the incumbent gateway (ThingsBoard IoT Gateway 3.8.x)
# from PyPI, apart from the project's own .venv so neither constrains the other's versions.
# The folder is gitignored. Re-running it upgrades within 3.8.x.
#
#     sh bench/incumbent/setup_venv.sh [python3]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${1:-python3}
if [ ! -x "$here/.venv-tb/bin/python" ]; then
    "$python" -m venv "$here/.venv-tb"
fi
"$here/.venv-tb/bin/python" -m pip install --quiet --upgrade pip
"$here/.venv-tb/bin/python" -m pip install --quiet "thingsboard-gateway>=3.8,<3.9"
# Its Modbus connector pip-installs these on first import unless present (3.8.5 pins pymodbus
# 3.9.2); installed here so the benchmark never installs anything while it measures.
"$here/.venv-tb/bin/python" -m pip install --quiet "pymodbus==3.9.2" pyserial pyserial-asyncio
"$here/.venv-tb/bin/python" -m pip show thingsboard-gateway | sed -n 's/^Version: /thingsboard-gateway /p'
