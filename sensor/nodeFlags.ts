/**
 * Node/V8 flags the sensor process runs with, wherever it is started: `understory up` (cli/up/sensorPlan.ts),
 * the sensor image's launcher (infra/images/sensor-launcher.sh, checked against this list by
 * infra/images/sensorLauncher.test.ts) and the sensor benchmark. They go on the command line: NODE_OPTIONS
 * refuses `--single-threaded`.
 *
 * - `--max-semi-space-size=2`: a 2 MiB young generation instead of 16: RSS ~147 instead of ~173 MiB under
 *   load, no CPU cost measured (sensor/pipeline/README.md, "Memory").
 * - `--single-threaded`: V8 does its garbage collection and optimising compilation on the JavaScript thread
 *   instead of helper threads. The sensor shares the node's CPUs with the applications it watches and is not
 *   latency-sensitive (calls reach the pipeline in 50 ms batches), so handing work to other threads buys it
 *   nothing and costs thread wake-ups and synchronisation: measured 0.89-0.97x process CPU saturated, 0.91-0.93x
 *   at 8k req/s, a median 0.94x at 4k; in the whole-sensor bench 0.90-1.03x sensor CPU for the Node service
 *   and 0.83-0.87x for nginx, whose RSS fell from 163 to 134 MiB (sensor/pipeline/README.md, "Fourth pass").
 */
export const SENSOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--single-threaded'];
