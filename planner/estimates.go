package planner

import (
	"regexp"
	"strconv"
	"strings"
)

// Estimates are the memory figures the budget is built from. They are
// estimates (docs/sizing.md says where they come from): the report says so,
// and every field can be overridden by the caller.
type Estimates struct {
	PumaProcess      int64 // one Puma process (single mode or a cluster worker)
	SidekiqProcess   int64 // one Sidekiq process; glibc fragmentation can push it towards 1 GB
	StreamingProcess int64 // one node streaming process
	Redis            int64 // 0: machine/32, between 64 MB and 512 MB
	Search           int64 // Elasticsearch/OpenSearch; 0: twice its -Xmx heap, else 1 GB
	PostgresPerConn  int64 // backend overhead per connection, beyond shared_buffers
	PostgresMin      int64 // the least memory Postgres is planned with
}

// DefaultEstimates are the figures docs/sizing.md gives: Puma's and
// Sidekiq's RSS as Mastodon instances report them (jemalloc images),
// streaming's node process, and a Postgres backend's own memory.
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
	if e.Search > 0 {
		d.Search = e.Search
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

// searchFor sizes an Elasticsearch/OpenSearch service: its JVM heap
// (-Xmx in ES_JAVA_OPTS / OPENSEARCH_JAVA_OPTS) and about as much again
// off-heap; 1 GB when the file does not say.
func (e Estimates) searchFor(s Service) int64 {
	if e.Search > 0 {
		return e.Search
	}
	for _, key := range []string{"ES_JAVA_OPTS", "OPENSEARCH_JAVA_OPTS"} {
		if heap := xmx(s.Env[key]); heap > 0 {
			return 2 * heap
		}
	}
	return 1 * GiB
}

var xmxRE = regexp.MustCompile(`-Xmx(\d+)([kKmMgG])`)

func xmx(opts string) int64 {
	m := xmxRE.FindStringSubmatch(opts)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n * map[string]int64{"k": KiB, "m": MiB, "g": GiB}[strings.ToLower(m[2])]
}
