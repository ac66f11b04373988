package planner

import "fmt"

// sizing is the memory split of the machine, decided before any sidekiq
// layout: Postgres's share first (about half: PGTune's shared_buffers and
// effective_cache_size assume the memory given is Postgres's), then Redis,
// streaming and Puma, and what remains holds sidekiq processes.
type sizing struct {
	dbMem         int64
	redisMem      int64
	searchMem     int64 // Elasticsearch/OpenSearch, when the file runs one
	cacheMem      int64 // the cache Redis, when Rails's cache has its own
	webProcs      int
	streamProcs   int
	sidekiqProcs  int // how many sidekiq processes fit
	threadCap     int // the most threads one sidekiq process gets here
	connsByMemory int // connections Postgres's memory can back
	shrunkDB      bool
	// dbApart: Postgres runs on a machine of its own (Input.DBMachine),
	// so dbMem is that machine's and none of this one's.
	dbApart bool
}

// minimumMachine is the least memory that holds one of everything.
func minimumMachine(est Estimates, hasDB, hasRedis bool) int64 {
	need := est.PumaProcess + est.SidekiqProcess + est.StreamingProcess
	if hasRedis {
		need += 64 * MiB
	}
	if hasDB {
		need += est.PostgresMin
	}
	return need
}

func size(in Input, m Machine, est Estimates, hasDB, hasRedis bool, v Version, searchMem int64) (sizing, error) {
	var sz sizing
	sz.searchMem = searchMem
	sz.dbApart = hasDB && in.DBMachine != nil
	if min := minimumMachine(est, hasDB && !sz.dbApart, hasRedis) + searchMem; m.MemoryBytes < min {
		return sz, &TooSmallError{Have: m.MemoryBytes, Need: min}
	}
	if hasDB {
		switch {
		case in.DBMemory > 0:
			sz.dbMem = in.DBMemory
		case sz.dbApart:
			// A database node: PGTune's total memory is that machine's.
			sz.dbMem = in.DBMachine.MemoryBytes
		default:
			share := in.DBMemoryShare
			if share <= 0 {
				share = 0.5
			}
			sz.dbMem = int64(float64(m.MemoryBytes) * share)
		}
	}
	if hasRedis {
		sz.redisMem = est.redisFor(m)
	}

	// Streaming: before 4.2 one service runs a cluster of node workers; from
	// 4.2 it is one process (more processes are more services behind nginx).
	sz.streamProcs = streamingProcesses(v, m)

	onHere := sz.dbMem
	if sz.dbApart {
		onHere = 0
	}
	app := m.MemoryBytes - onHere - sz.redisMem - sz.searchMem - int64(sz.streamProcs)*est.StreamingProcess
	// Puma: one process per CPU, but never more than a third of the app
	// memory, so sidekiq keeps the rest.
	sz.webProcs = max(1, min(m.CPUs, int(app/3/est.PumaProcess), 16))
	sz.sidekiqProcs = int((app - int64(sz.webProcs)*est.PumaProcess) / est.SidekiqProcess)
	if sz.sidekiqProcs < 1 {
		// A tiny machine: one Puma, one sidekiq, and Postgres gets what is
		// left, down to its minimum.
		sz.webProcs, sz.streamProcs = 1, 1
		rest := m.MemoryBytes - sz.redisMem - sz.searchMem - est.StreamingProcess - est.PumaProcess - est.SidekiqProcess
		if hasDB && !sz.dbApart && in.DBMemory == 0 && rest >= est.PostgresMin {
			sz.dbMem, sz.shrunkDB = rest, true
			sz.sidekiqProcs = 1
		} else {
			need := est.PumaProcess + est.SidekiqProcess + est.StreamingProcess + sz.redisMem + sz.searchMem
			return sz, fmt.Errorf("the app side needs %s (one Puma, one Sidekiq, streaming, Redis) but only %s is left beside Postgres's %s: lower --db-memory or use a bigger machine", FormatBytes(need), FormatBytes(m.MemoryBytes-onHere), FormatBytes(onHere))
		}
	}

	switch {
	case m.MemoryBytes >= 4*GiB:
		sz.threadCap = maxConcurrency
	case m.MemoryBytes >= 2*GiB:
		sz.threadCap = 15
	default:
		sz.threadCap = 10
	}
	// Each connection is a Postgres backend: beyond shared_buffers (a
	// quarter of its memory) it needs PostgresPerConn.
	if hasDB {
		sz.connsByMemory = int((sz.dbMem - sz.dbMem/4) / est.PostgresPerConn)
	} else {
		sz.connsByMemory = 1 << 30
	}
	return sz, nil
}

// streamingProcesses is how many node processes serve streaming. Before
// 4.2 they are one service's cluster (STREAMING_CLUSTER_NUM); from 4.2 each
// is a service of its own behind nginx, and one serves a small instance.
//
// An unknown version gets one process: STREAMING_CLUSTER_NUM=1 is one
// process under both models.
func streamingProcesses(v Version, m Machine) int {
	if v.Unknown && !v.AtLeast(4, 2) {
		return 1
	}
	if !v.AtLeast(4, 2) {
		if m.CPUs > 2 {
			return min(m.CPUs/2, 4)
		}
		return 1
	}
	if m.CPUs >= 8 {
		return min(m.CPUs/4, 4)
	}
	return 1
}
