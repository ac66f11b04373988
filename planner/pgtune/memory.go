package pgtune

// The memory settings: PGTune's shares of the memory Postgres may use.
//
// Postgres holds shared_buffers in at most 2^30-1 pages (8 TB) and
// effective_cache_size in at most 2^31-1 (16 TB): past that the server
// refuses to start, so an absurd machine is tuned at those limits.

// sharedBuffersKB is a quarter of the memory.
func sharedBuffersKB(ramKB int64) int64 { return min(ramKB/4, maxSharedBuffersKB) }

// effectiveCacheKB is three quarters of the memory: what the query
// planner may expect the OS to cache.
func effectiveCacheKB(ramKB int64) int64 { return min(ramKB*3/4, maxCacheSizeKB) }

// maintenanceWorkMemKB is a sixteenth of the memory, at most 8GB.
func maintenanceWorkMemKB(ramKB int64) int64 { return min(ramKB/16, 8*kbGB) }

// workMemKB is what is left after shared_buffers, shared by every
// connection and worker process three ways (a query may sort or hash in
// several nodes at once), at least 4MB. The worker processes are
// Postgres's default max_worker_processes (8) unless PGTune sets one per
// CPU (4 CPUs or more).
func workMemKB(ramKB, sharedBuffersKB int64, maxConnections, cpus int) int64 {
	workers := int64(8)
	if cpus >= 4 {
		workers = int64(cpus)
	}
	return max((ramKB-sharedBuffersKB)/((int64(maxConnections)+workers)*3), 4*kbMB)
}

// hugePages is try from 2GB of shared_buffers: worth the page tables
// saved, and harmless where the kernel has none reserved.
func hugePages(sharedBuffersKB int64) string {
	if sharedBuffersKB >= 2*kbGB {
		return "try"
	}
	return "off"
}
