package planner

import "fmt"

// Budget is the arithmetic behind a plan: every connection and every
// estimated megabyte, per service, so each total in a report is the sum of
// the rows above it.
type Budget struct {
	Rows        []Row
	Connections Connections
	Memory      Memory
}

// Row is one service's share.
type Row struct {
	Service     string
	Role        Role
	Processes   int
	Threads     int // per process: Puma threads, sidekiq -c, streaming pool
	Connections int // Processes x Threads
	Queues      []Queue
	MemoryBytes int64 // estimated
}

// Connections is the Postgres connection budget.
type Connections struct {
	Total             int // sum of the rows
	MaxConnections    int
	Limit             int // the most the pools may hold: min(90% of max, max - 15)
	SuperuserReserved int
	// Reserved are Input.ReservedConnections: left free for surge pods
	// and migration jobs.
	Reserved int
	Free     int // MaxConnections - Total - Reserved
}

// Memory is the estimated memory budget.
type Memory struct {
	MachineBytes  int64
	PostgresBytes int64 // the memory Postgres is tuned for
	RedisBytes    int64
	SearchBytes   int64 // Elasticsearch/OpenSearch
	CacheBytes    int64 // the cache Redis
	AppBytes      int64 // sum of the rows
	TotalBytes    int64
	HeadroomBytes int64
}

func (p *planning) budget(in Input, est Estimates, sz sizing) {
	b := &p.Budget
	f := p.RailsPools
	if w := p.Web; w != nil {
		n := w.Processes * w.Replicas
		b.Rows = append(b.Rows, Row{Service: w.Service, Role: RoleWeb, Processes: n, Threads: w.Threads,
			Connections: n * w.Threads * f, MemoryBytes: int64(n) * est.PumaProcess})
	}
	if s := p.Streaming; s != nil {
		if len(s.Services) > 0 { // from 4.2: a service per process
			for _, name := range s.Services {
				b.Rows = append(b.Rows, Row{Service: name, Role: RoleStreaming, Processes: 1, Threads: s.Pool,
					Connections: s.Pool, MemoryBytes: est.StreamingProcess})
			}
		} else {
			b.Rows = append(b.Rows, Row{Service: s.Service, Role: RoleStreaming, Processes: s.Processes, Threads: s.Pool,
				Connections: s.Processes * s.Pool, MemoryBytes: int64(s.Processes) * est.StreamingProcess})
		}
	}
	for _, s := range p.Sidekiq {
		n := s.processes()
		b.Rows = append(b.Rows, Row{Service: s.Name, Role: RoleSidekiq, Processes: n, Threads: s.Concurrency,
			Connections: n * s.Concurrency * f, Queues: s.Queues, MemoryBytes: int64(n) * est.SidekiqProcess})
	}
	if f > 1 {
		which := "Mastodon 4.2.0 opens"
		if p.Version.Unknown {
			which = "the version is unknown, and Mastodon 4.2.0 opens"
		}
		p.Notes = append(p.Notes, fmt.Sprintf("%s two database pools in every Rails process (fixed in 4.2.1): web and sidekiq connections are counted twice", which))
	}
	for _, r := range b.Rows {
		b.Connections.Total += r.Connections
		b.Memory.AppBytes += r.MemoryBytes
	}
	mc := p.Postgres.MaxConnections
	b.Connections.MaxConnections = mc
	b.Connections.Limit = usable(mc)
	b.Connections.SuperuserReserved = superuserReserved
	b.Connections.Reserved = in.ReservedConnections
	b.Connections.Free = mc - b.Connections.Total - b.Connections.Reserved

	b.Memory.MachineBytes = p.Machine.MemoryBytes
	b.Memory.PostgresBytes = sz.dbMem
	if sz.dbApart {
		b.Memory.PostgresBytes = 0 // on its own machine: none of this one's
	}
	b.Memory.RedisBytes = sz.redisMem
	p.Estimates.Redis = sz.redisMem
	b.Memory.SearchBytes = sz.searchMem
	b.Memory.CacheBytes = sz.cacheMem
	b.Memory.TotalBytes = b.Memory.AppBytes + b.Memory.PostgresBytes + sz.redisMem + sz.searchMem + sz.cacheMem
	b.Memory.HeadroomBytes = b.Memory.MachineBytes - b.Memory.TotalBytes

	if sz.shrunkDB {
		p.Warnings = append(p.Warnings, fmt.Sprintf("this machine is small: Postgres gets %s instead of half the memory so that one Puma and one Sidekiq process fit", FormatBytes(sz.dbMem)))
	}
	servers := b.Connections.Total
	if p.throughBouncer() {
		p.bouncerBudget(in)
		servers = p.PgBouncer.Servers
	} else if b.Connections.Total > b.Connections.Limit {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the pools hold %d connections, above the safe %d for max_connections %d (90%% and %d loose)", b.Connections.Total, b.Connections.Limit, mc, looseConnections))
	}
	if p.Postgres.Service != "" {
		need := sz.dbMem/4 + int64(servers)*est.PostgresPerConn
		if need > sz.dbMem {
			p.Warnings = append(p.Warnings, fmt.Sprintf("Postgres is planned with %s, but shared_buffers (%s) and %d connections at about %s each need %s: expect it to use more, or lower the pools with --max-connections", FormatBytes(sz.dbMem), FormatBytes(sz.dbMem/4), servers, FormatBytes(est.PostgresPerConn), FormatBytes(need)))
		}
	}
	if !HasScheduler(p.Version) && !p.Version.Unknown {
		p.Notes = append(p.Notes, fmt.Sprintf("Mastodon %s has no scheduler queue: every sidekiq process runs the scheduled jobs itself", p.Version))
	}
}
