package pgtune

import "strconv"

// The background and parallel workers, and asynchronous I/O.

// parallel gives a machine of 4 CPUs or more one worker per CPU, and half
// the CPUs (at most 4) to one query or one CREATE INDEX.
func (t *tuned) parallel(cpus int) {
	if cpus < 4 {
		return
	}
	gather := min((cpus+1)/2, 4)
	t.add("max_worker_processes", strconv.Itoa(cpus), "one background worker per CPU")
	t.add("max_parallel_workers_per_gather", strconv.Itoa(gather), "half the CPUs, at most 4, for one query")
	if t.major >= 10 {
		t.add("max_parallel_workers", strconv.Itoa(cpus), "one parallel worker per CPU")
	}
	if t.major >= 11 {
		t.add("max_parallel_maintenance_workers", strconv.Itoa(gather), "half the CPUs, at most 4, for CREATE INDEX")
	}
}

// autovacuum gives a big machine more vacuum workers, and caps each
// worker's memory at 2GB where maintenance_work_mem is more.
func (t *tuned) autovacuum(cpus int, maintenanceWorkMemKB int64) {
	switch {
	case cpus >= 32:
		t.add("autovacuum_max_workers", "5", "more vacuum workers for a machine this size")
	case cpus >= 16:
		t.add("autovacuum_max_workers", "4", "more vacuum workers for a machine this size")
	}
	if maintenanceWorkMemKB >= 2*kbGB {
		t.add("autovacuum_work_mem", FormatKB(2*kbGB), "each autovacuum worker at most 2GB, not maintenance_work_mem")
	}
}

// ioWorkers is Postgres 18's asynchronous I/O: a quarter of the CPUs,
// between 3 (its default, not written) and 32.
func (t *tuned) ioWorkers(cpus int) {
	if t.major < 18 || cpus <= 0 {
		return
	}
	if n := min(32, max(3, cpus/4)); n > 3 {
		t.add("io_workers", strconv.Itoa(n), "a quarter of the CPUs for asynchronous I/O")
	}
}
