#!/bin/sh
# `understory` in the sensor image: runs Node with the sensor's flags (sensor/nodeFlags.ts, which says why;
# infra/images/sensorLauncher.test.ts checks they match). They cannot come through NODE_OPTIONS: Node refuses
# --single-threaded there. NODE_OPTIONS (the chart's sensor.nodeOptions) still adds to them.
exec node --max-semi-space-size=2 --single-threaded "${UNDERSTORY_ROOT:-/opt/understory}/bin/understory.mjs" "$@"
