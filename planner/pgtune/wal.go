package pgtune

// The write-ahead log settings.

// walBuffersKB is 3% of shared_buffers, at least 32kB and at most 16MB;
// PGTune rounds anything past 14MB up to the 16MB of one WAL segment.
func walBuffersKB(sharedBuffersKB int64) int64 {
	wal := min(sharedBuffersKB*3/100, 16*kbMB)
	if wal > 14*kbMB {
		wal = 16 * kbMB
	}
	return max(wal, 32)
}

// walSizesKB are PGTune's min_wal_size and max_wal_size for the workload.
func walSizesKB(typ DBType) (minKB, maxKB int64) {
	if typ == Web {
		return 1 * kbGB, 4 * kbGB
	}
	return 2 * kbGB, 8 * kbGB
}

// walCompression is lz4 from Postgres 15 (cheaper than pglz), on from 10.
func (t *tuned) walCompression() {
	switch {
	case t.major >= 15:
		t.add("wal_compression", "lz4", "cheaper WAL for little CPU (lz4 from Postgres 15)")
	case t.major >= 10:
		t.add("wal_compression", "on", "cheaper WAL for little CPU")
	}
}
