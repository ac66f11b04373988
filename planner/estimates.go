package planner

// Estimates are the memory figures the budget is built from. They are
// estimates (DOMAIN.md, "Memory"): the report says so, and every field can be
// overridden by the caller.
type Estimates struct {
	PumaProcess      int64 // one Puma process (single mode or a cluster worker)
	SidekiqProcess   int64 // one Sidekiq process; glibc fragmentation can push it towards 1 GB
	StreamingProcess int64 // one node streaming process
	Redis            int64 // 0: machine/32, between 64 MB and 512 MB
	PostgresPerConn  int64 // backend overhead per connection, beyond shared_buffers
	PostgresMin      int64 // the least memory Postgres is planned with
}

// DefaultEstimates are the figures from DOMAIN.md.
var DefaultEstimates = Estimates{
	PumaProcess:      300 * MiB,
	SidekiqProcess:   350 * MiB,
	StreamingProcess: 100 * MiB,
	PostgresPerConn:  10 * MiB,
	PostgresMin:      192 * MiB,
}

func (e Estimates) withDefaults() Estimates {
	d := DefaultEstimates
	if e.PumaProcess > 0 {
		d.PumaProcess = e.PumaProcess
	}
	if e.SidekiqProcess > 0 {
		d.SidekiqProcess = e.SidekiqProcess
	}
	if e.StreamingProcess > 0 {
		d.StreamingProcess = e.StreamingProcess
	}
	if e.Redis > 0 {
		d.Redis = e.Redis
	}
	if e.PostgresPerConn > 0 {
		d.PostgresPerConn = e.PostgresPerConn
	}
	if e.PostgresMin > 0 {
		d.PostgresMin = e.PostgresMin
	}
	return d
}

// redisFor sizes Redis for a machine: queues and feeds grow with the instance,
// and the instance grows with the machine.
func (e Estimates) redisFor(m Machine) int64 {
	if e.Redis > 0 {
		return e.Redis
	}
	r := m.MemoryBytes / 32
	if r < 64*MiB {
		r = 64 * MiB
	}
	if r > 512*MiB {
		r = 512 * MiB
	}
	return r
}
