// Package helm renders a cluster plan as values for Mastodon's official
// Helm charts: the current one (mastodon/helm-charts, charts/mastodon) and
// the legacy one (mastodon/chart). It writes only the tuning keys, to be
// layered over the admin's own values file, and it decides nothing: every
// number comes from the plan (planner.MakeCluster).
package helm

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner"
	"go.yaml.in/yaml/v4"
)

// Chart is the chart the values are for.
type Chart string

const (
	// Current is mastodon/helm-charts' charts/mastodon (chart 1.x):
	// camelCase keys, no bundled Postgres or Redis, Mastodon 4.4 and later.
	Current Chart = "mastodon"
	// Legacy is mastodon/chart (chart 6.x, deprecated): the same keys for
	// what compose-scale writes, bundled Bitnami Postgres and Redis.
	Legacy Chart = "legacy"
)

// AppVersion is the Mastodon each chart runs when image.tag is not set:
// its Chart.yaml appVersion at the snapshots the render test was run on
// (mastodon/helm-charts f6905d5, chart 1.0.2; mastodon/chart 3c8d76d,
// chart 6.9.3).
var AppVersion = map[Chart]string{Current: "v4.6.2", Legacy: "v4.6.3"}

// MaxWorkerName is the longest worker name written: the chart puts it in
// the label app.kubernetes.io/component as sidekiq-NAME, and a label value
// is at most 63 bytes.
const MaxWorkerName = 55

// Kept is what a release's current values (helm get values) give each
// worker that a list Helm replaces whole would lose: by worker name, and
// for every worker when they all have the same.
type Kept struct {
	ByName map[string]map[string]any
	All    map[string]any
}

// workerKeys are the worker keys carried over from the current values.
var workerKeys = []string{"image", "affinity", "nodeSelector", "tolerations"}

// Database is where the pods connect: the pooler's Service when the plan
// has one, and the database itself, for migrations (they take session
// advisory locks, which transaction pooling drops) and for the pooler.
type Database struct {
	PoolerHost string // the pgbouncer chart's Service
	Host, Name string
	// CacheHost is the Service of the Redis that holds Rails's cache,
	// when the plan gives it one.
	CacheHost string
}

// PoolerPort is the port the pgbouncer chart's Service listens on.
const PoolerPort = 6432

// Values renders the plan as a values file for chart. header is the
// comment written first (what made it, how to layer it).
func Values(cp *planner.ClusterPlan, chart Chart, kept Kept, db Database, header []string) ([]byte, error) {
	if err := poolIsConcurrency(cp.Version); err != nil {
		return nil, err
	}
	root := newMap()
	mastodon := newMap()
	if cp.Web != nil {
		mastodon.set("web", podGroup(cp.Web, "web", map[string]any{
			"workers":    strconv.Itoa(cp.Web.Processes),
			"minThreads": strconv.Itoa(cp.Web.Threads),
			"maxThreads": strconv.Itoa(cp.Web.Threads),
		}))
	}
	if cp.Streaming != nil {
		mastodon.set("streaming", podGroup(cp.Streaming, "streaming", map[string]any{
			"workers":      1,
			"extraEnvVars": newMap().set("DB_POOL", strconv.Itoa(cp.Streaming.Threads)),
		}))
	}
	workers, err := workerList(cp, kept)
	if err != nil {
		return nil, err
	}
	mastodon.set("sidekiq", newMap().
		set("updateStrategy", newMap().set("type", "Recreate")).
		set("workers", workers))
	root.set("mastodon", mastodon)
	if cp.Pooler != nil {
		if db.PoolerHost == "" || db.Host == "" {
			return nil, fmt.Errorf("the plan puts PgBouncer in front of the database: its Service and the database's host are both needed (give the release's values, or the database host)")
		}
		// Through the pooler, prepared statements off (Rails frees them
		// with DEALLOCATE, which PgBouncer does not follow); migrations
		// on the direct connection.
		pg := newMap()
		direct := newMap().set("hostname", db.Host).set("port", 5432)
		switch chart {
		case Legacy:
			mastodon.set("preparedStatements", false)
			pg.set("postgresqlHostname", db.PoolerHost).set("postgresqlPort", PoolerPort).set("direct", direct)
		default:
			pg.set("hostname", db.PoolerHost).set("port", PoolerPort).set("preparedStatements", false).set("direct", direct)
		}
		root.set("postgresql", pg)
	}
	if c := cp.CacheRedis; c != nil {
		if db.CacheHost == "" {
			return nil, fmt.Errorf("the plan gives Rails's cache a Redis of its own: deploy one (maxmemory %d MB, maxmemory-policy allkeys-lru, no persistence) and give its Service, or plan without it", c.MaxMemory/planner.MiB)
		}
		root.set("redis", newMap().set("cache", newMap().set("enabled", true).set("hostname", db.CacheHost).set("port", 6379)))
	}
	return encode(root, header)
}

// PoolerValues renders the plan's pooler as values for the pgbouncer chart
// (mastodon/helm-charts charts/pgbouncer): its replicas, transaction mode,
// no prepared statements, and each replica's limits.
func PoolerValues(cp *planner.ClusterPlan, db Database, header []string) ([]byte, error) {
	pl := cp.Pooler
	if pl == nil {
		return nil, fmt.Errorf("the plan has no pooler")
	}
	name := db.Name
	if name == "" {
		name = "mastodon"
	}
	root := newMap().
		set("replicaCount", pl.Replicas).
		set("databases", newMap().set(name, newMap().set("host", db.Host).set("port", 5432).set("dbname", name))).
		set("settings", newMap().
			set("poolMode", "transaction").
			set("maxPreparedStatements", 0).
			set("connectionLimits", newMap().
				set("maxClientConn", pl.MaxClientConn).
				set("defaultPoolSize", pl.PoolSize).
				set("minPoolSize", min(15, pl.PoolSize)).
				set("reservePoolSize", pl.Reserve))).
		set("topologySpreadConstraints", []any{newMap().
			set("maxSkew", 1).
			set("topologyKey", "kubernetes.io/hostname").
			set("whenUnsatisfiable", "ScheduleAnyway").
			set("labelSelector", newMap().set("matchLabels", newMap().set("app.kubernetes.io/name", "pgbouncer")))})
	return encode(root, header)
}

func encode(root *orderedMap, header []string) ([]byte, error) {
	var b bytes.Buffer
	for _, h := range header {
		b.WriteString("# " + h + "\n")
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root.node()); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\n")) {
		b.WriteString("\n")
	}
	return b.Bytes(), nil
}

// poolIsConcurrency refuses a version whose Sidekiq pool is not its
// concurrency: the charts set no DB_POOL per worker (a DB_POOL in
// sidekiq.extraEnvVars reaches every worker alike), so the values can size
// each worker's pool only where Mastodon makes it the concurrency, from
// 4.3 (config/database.yml: before, DB_POOL, else MAX_THREADS, else 5).
func poolIsConcurrency(v planner.Version) error {
	if v.Unknown || v.AtLeast(4, 3) {
		return nil
	}
	return fmt.Errorf("the pods would run Mastodon %s, whose Sidekiq pool is DB_POOL (else MAX_THREADS, else 5), not each worker's concurrency, and the chart sets no DB_POOL per worker: a worker of 25 threads would share 5 connections; run 4.3 or later (image.tag, or --mastodon-version)", v)
}

// WorkerName is a planned process's name as a chart worker: without the
// sidekiq- prefix the chart adds back, and short enough for a label.
func WorkerName(process string) string {
	name := strings.TrimPrefix(process, "sidekiq-")
	if name == "" || name == process && process == "sidekiq" {
		name = "all-queues"
	}
	if len(name) > MaxWorkerName {
		name = strings.TrimRight(name[:MaxWorkerName], "-")
	}
	return name
}

func workerList(cp *planner.ClusterPlan, kept Kept) ([]any, error) {
	var out []any
	schedulers := 0
	seen := map[string]bool{}
	for _, w := range cp.Workers {
		name := WorkerName(w.Name)
		if seen[name] {
			return nil, fmt.Errorf("internal error: two sidekiq workers are both named %s in the chart's values", name)
		}
		seen[name] = true
		var queues []any
		for _, q := range w.Queues {
			if q.Name == "scheduler" {
				schedulers++
				if w.Replicas != 1 {
					return nil, fmt.Errorf("internal error: the scheduler's worker %s has %d replicas; it must have one", name, w.Replicas)
				}
			}
			if q.Weight > 0 {
				queues = append(queues, fmt.Sprintf("%s,%d", q.Name, q.Weight))
			} else {
				queues = append(queues, q.Name)
			}
		}
		m := newMap().
			set("name", name).
			set("replicas", w.Replicas).
			set("concurrency", w.Concurrency).
			set("queues", queues).
			set("resources", resources(w.Resources))
		carried := kept.All
		if k, ok := kept.ByName[name]; ok {
			carried = k
		}
		for _, key := range workerKeys {
			if v, ok := carried[key]; ok {
				m.set(key, v)
			}
		}
		m.set("topologySpreadConstraints", spread("sidekiq-"+name))
		out = append(out, m)
	}
	if planner.HasScheduler(cp.Version) && schedulers != 1 {
		return nil, fmt.Errorf("internal error: %d sidekiq workers listen on scheduler; exactly one must", schedulers)
	}
	return out, nil
}

func podGroup(g *planner.PodGroup, component string, extra map[string]any) *orderedMap {
	m := newMap().set("replicas", g.Replicas)
	for _, k := range []string{"workers", "minThreads", "maxThreads", "extraEnvVars"} {
		if v, ok := extra[k]; ok {
			m.set(k, v)
		}
	}
	return m.set("resources", resources(g.Resources)).set("topologySpreadConstraints", spread(component))
}

// resources are requests and a memory limit; no CPU limit (the plan's
// reason: a throttled Sidekiq falls behind without saying why).
func resources(r planner.Resources) *orderedMap {
	return newMap().
		set("requests", newMap().set("cpu", fmt.Sprintf("%dm", r.CPURequest)).set("memory", mebibytes(r.MemoryRequest))).
		set("limits", newMap().set("memory", mebibytes(r.MemoryLimit)))
}

func mebibytes(b int64) string { return fmt.Sprintf("%dMi", (b+planner.MiB-1)/planner.MiB) }

// spread spreads a Deployment's pods over the nodes: one more on a node
// than on another at most, as long as the nodes allow (ScheduleAnyway: a
// pod is never left pending for it). The selector is the chart's
// component label.
func spread(component string) []any {
	return []any{newMap().
		set("maxSkew", 1).
		set("topologyKey", "kubernetes.io/hostname").
		set("whenUnsatisfiable", "ScheduleAnyway").
		set("labelSelector", newMap().set("matchLabels", newMap().
			set("app.kubernetes.io/name", "mastodon").
			set("app.kubernetes.io/component", component)))}
}
