"""The run layer: the replication driver, executors, the store and run directory, results, sweeps, comparisons, progress."""
