package planner

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Cluster is where a deployment runs once it outgrows one machine: Nodes
// application nodes of one size, and Postgres on a database node of its
// own (DB), or a managed database that states its MaxConnections.
type Cluster struct {
	Nodes int
	Node  Machine // each application node, as sold (the reserve is taken off)
	// DB is the database node; nil for a managed database, whose
	// MaxConnections must then be given.
	DB             *Machine
	MaxConnections int
	// WebSurge and StreamingSurge are the pods a rolling update adds, as
	// a share of a Deployment's replicas (maxSurge, which Kubernetes
	// rounds up); sidekiq is recreated (one scheduler at a time), so it
	// adds none.
	WebSurge, StreamingSurge float64
	// SurgeTasks is a fixed number of extra pods a rolling update adds to
	// each of web and streaming, instead of a share (Swarm's update_config
	// with parallelism 1 and order start-first: one).
	SurgeTasks int
	// Engine names where it runs, for the report ("Kubernetes", "Docker
	// Swarm").
	Engine string
	// Runs is the Mastodon the engine's pods will run, and RunsSource
	// where that came from (a chart runs its own version unless told):
	// nil plans for the compose file's.
	Runs       *Version
	RunsSource string
	// Pooler is --pgbouncer: auto puts one in front of the primary when
	// the pods would want more than 250 connections. PoolerReplicas is
	// how many PgBouncer pods (0: two from two nodes, else one).
	Pooler         Toggle
	PoolerReplicas int
	// Cache is --cache-redis: auto gives Rails's cache a Redis of its own
	// from 16 GB of application memory, when the engine can run one:
	// CacheRunnable (a stack runs the service it is given; a chart only
	// points at a Redis someone deployed).
	Cache         Toggle
	CacheRunnable bool
}

// PoolerPlan is the PgBouncer (transaction mode) in front of the primary:
// its replicas, and each replica's limits. Each replica opens its own
// pool to Postgres: Replicas x (PoolSize + Reserve) server connections.
type PoolerPlan struct {
	Replicas      int
	PoolSize      int // default_pool_size, per replica
	Reserve       int // reserve_pool_size, per replica
	MaxClientConn int // per replica: every client could land on one
	Clients       int // the pods' pools, surge included
}

// ClusterPlan is the plan for a cluster: the same Plan as for one
// machine, made for what the application nodes hold together with
// Postgres apart, and the pods it becomes, their resources, their
// connections (rolling updates and migration jobs included) and an
// advisory packing onto the nodes.
type ClusterPlan struct {
	*Plan
	Cluster Cluster
	// Allocatable is each application node's memory and CPU (in
	// millicores) after its system reserve.
	AllocatableMemory int64
	AllocatableCPU    int
	Workers           []WorkerPod
	Web               *PodGroup
	Streaming         *PodGroup
	Connections       ClusterConnections
	// Pooler is the PgBouncer the pods connect through, when the plan
	// has one.
	Pooler  *PoolerPlan
	Packing []NodeLoad // advisory: the scheduler decides
	// FitsDrained says the pods still fit with one node drained
	// (maintenance, an upgrade); always true for one node.
	FitsDrained bool
}

// Resources are a pod's requests and limits. CPU is in millicores.
type Resources struct {
	MemoryRequest, MemoryLimit int64
	CPURequest                 int
}

// WorkerPod is one sidekiq Deployment: a planned process, its replicas
// and what each replica asks for.
type WorkerPod struct {
	Process
	Resources   Resources
	Connections int // per replica: threads x pools per Rails process
}

// PodGroup is the web or streaming Deployment: replicas of one pod.
type PodGroup struct {
	Replicas  int
	Processes int // Puma workers in each pod (WEB_CONCURRENCY); 1 for streaming
	Threads   int // Puma threads; the pool for streaming
	Resources Resources
	// Connections is one pod's; Surge the pods a rolling update adds.
	Connections, Surge int
}

// ClusterConnections hold the pods against the one primary database:
// what does not depend on how many nodes run them.
type ClusterConnections struct {
	Pods       int // every replica's pools
	Surge      int // the pods a rolling update of web and streaming adds
	Migrations int // a migration job's pool
	// Servers is what a pooler opens to Postgres (0 without one: the
	// pods connect straight to it).
	Servers int
	// Total is what Postgres holds: the pods, surge and migrations
	// without a pooler; the pooler's servers and the migrations with one.
	Total int
	// MaxConnections is Postgres's; Limit what the pools may hold
	// (SafeLimit).
	MaxConnections, Limit int
}

// NodeLoad is what one node is given in the advisory packing.
type NodeLoad struct {
	Pods          []string
	MemoryRequest int64
	CPURequest    int
}

// Per-pod CPU requests: a Sidekiq worker at the thread cap is planned at
// one core (sizing gives no more of them than CPUs), a small one takes a
// trickle; a Puma process half a core; streaming a quarter. No CPU limit is
// set: a throttled Sidekiq falls behind without saying why.
const (
	workerCPU      = 1000
	smallWorkerCPU = 100
	pumaCPU        = 500
	streamingCPU   = 250
	// migrationPool is a migration job's pool: config/database.yml's
	// default (DB_POOL, else MAX_THREADS, else 5).
	migrationPool = 5
	// memoryLimitFactor: a limit half again over the request, since a
	// Ruby process's RSS drifts up with fragmentation (estimates.go).
	memoryLimitFactor = 1.5
)

// NodeReserve is the memory and CPU a Kubernetes node keeps for the
// kubelet, the container runtime and the OS, by GKE's published rule
// (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes): 25%
// of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next
// 112 and 2% above, plus 100 MiB for the eviction threshold; 6% of the
// first core, 1% of the next, 0.5% of the next two and 0.25% above.
func NodeReserve(m Machine) (memory int64, cpuMilli int) {
	left := float64(m.MemoryBytes)
	var mem float64
	const g = float64(GiB)
	for _, band := range []struct{ size, share float64 }{{4 * g, 0.25}, {4 * g, 0.20}, {8 * g, 0.10}, {112 * g, 0.06}, {math.Inf(1), 0.02}} {
		take := math.Min(left, band.size)
		mem += take * band.share
		left -= take
	}
	cpu := 0.0
	for i := 1; i <= m.CPUs; i++ {
		switch {
		case i == 1:
			cpu += 60
		case i == 2:
			cpu += 10
		case i <= 4:
			cpu += 5
		default:
			cpu += 2.5
		}
	}
	return int64(mem) + 100*MiB, int(math.Ceil(cpu))
}

// MakeCluster plans a deployment for a cluster. It makes the one-machine
// plan (Make) for the application nodes' allocatable memory and CPUs
// together, with Postgres on its own node, and the connections a rolling
// update and a migration job open left free; then it shapes the pods.
func MakeCluster(in Input, c Cluster) (*ClusterPlan, error) {
	if c.Nodes < 1 {
		return nil, fmt.Errorf("--nodes %d: a cluster has at least one node", c.Nodes)
	}
	if c.DB == nil && c.MaxConnections == 0 {
		return nil, fmt.Errorf("no database node and no --max-connections: give the database node (--db-node or --db-node-memory and --db-node-cpus), or the managed database's max_connections")
	}
	resMem, resCPU := NodeReserve(c.Node)
	alloc := Machine{MemoryBytes: c.Node.MemoryBytes - resMem, CPUs: c.Node.CPUs}
	if alloc.MemoryBytes <= 0 {
		return nil, fmt.Errorf("a node of %s keeps %s for Kubernetes itself: nothing is left for pods", FormatBytes(c.Node.MemoryBytes), FormatBytes(resMem))
	}
	// Sized for one node fewer than there are (N+1): with one node
	// drained for an upgrade, its pods fit on the others.
	in.Machine = Machine{MemoryBytes: alloc.MemoryBytes * int64(sizedNodes(c.Nodes)), CPUs: alloc.CPUs * sizedNodes(c.Nodes)}
	in.PgBouncer, in.CacheRedis = c.Pooler, c.Cache
	cacheNote := ""
	if (c.Cache == ToggleAuto || c.Cache == "") && !c.CacheRunnable {
		in.CacheRedis = ToggleOff
		if in.Machine.MemoryBytes >= cacheAutoFrom {
			cacheNote = fmt.Sprintf("from %s of application memory Rails's cache is better in a Redis of its own (its evictions then never touch Sidekiq's queues): deploy one (allkeys-lru, no persistence) and name it, and the plan will use it", FormatBytes(cacheAutoFrom))
		}
	}
	in.Replicated = true
	allocCPU := c.Node.CPUs*1000 - resCPU
	in.MaxConnections = c.MaxConnections
	if c.DB != nil {
		db := *c.DB
		dbRes, _ := NodeReserve(db)
		db.MemoryBytes -= dbRes
		in.DBMachine = &db
	} else {
		// A managed database: none of the nodes' memory, and its
		// tuning is its provider's.
		var kept []Service
		for _, s := range in.Services {
			if RoleOf(s) != RoleDB {
				kept = append(kept, s)
			}
		}
		in.Services = kept
	}
	var upgrade string
	if c.Runs != nil {
		if base, err := Make(in); err == nil && !base.Version.Unknown && base.Version != *c.Runs {
			upgrade = fmt.Sprintf("the compose file runs Mastodon %s and the pods will run %s (%s): the move is also an upgrade; to move first and upgrade after, have the pods run %s (a chart's image.tag)", base.Version, *c.Runs, c.RunsSource, base.Version)
		}
		in.Version = c.Runs
	}
	// The reserve depends on the pods, which depend on the reserve:
	// settle it (it shrinks or stays; a few rounds do).
	var cp *ClusterPlan
	for round := 0; round < 5; round++ {
		p, err := Make(in)
		if err != nil {
			return nil, err
		}
		p.Notes = withoutFlagNotes(p.Notes)
		cp = shapePods(p, c, alloc.MemoryBytes, allocCPU)
		if cp.Connections.Surge+cp.Connections.Migrations <= in.ReservedConnections {
			break
		}
		in.ReservedConnections = cp.Connections.Surge + cp.Connections.Migrations
	}
	if c.Runs != nil {
		cp.VersionSource = c.RunsSource
	}
	if upgrade != "" {
		cp.Notes = append(cp.Notes, upgrade)
	}
	if cacheNote != "" {
		cp.Notes = append(cp.Notes, cacheNote)
	}
	cp.pack()
	cp.check()
	return cp, nil
}

// sizedNodes is how many nodes' capacity the pods are sized for: all but
// one, so that they still fit with one drained.
func sizedNodes(n int) int { return max(n-1, 1) }

// shapePods turns the plan's processes into pods.
func shapePods(p *Plan, c Cluster, allocMem int64, allocCPU int) *ClusterPlan {
	cp := &ClusterPlan{Plan: p, Cluster: c, AllocatableMemory: allocMem, AllocatableCPU: allocCPU}
	est := p.Estimates
	f := max(p.RailsPools, 1)
	for _, s := range p.Sidekiq {
		cpu := workerCPU
		if s.Small {
			cpu = smallWorkerCPU
		}
		s.Replicas = s.processes()
		cp.Workers = append(cp.Workers, WorkerPod{Process: s, Resources: resources(est.SidekiqProcess, cpu), Connections: s.Concurrency * f})
	}
	if w := p.Web; w != nil {
		total := max(w.Processes, 1) * max(w.Replicas, 1)
		// One pod per node at least, for availability, but pods of
		// several workers: Puma's workers share its memory copy-on-write.
		replicas := min(total, max(c.Nodes, (total+3)/4))
		per := max(total/replicas, 1)
		cp.Web = &PodGroup{Replicas: replicas, Processes: per, Threads: w.Threads,
			Resources: resources(int64(per)*est.PumaProcess, per*pumaCPU), Connections: per * w.Threads * f}
		cp.Web.Surge = surgePods(replicas, c.WebSurge, c.SurgeTasks)
	}
	if s := p.Streaming; s != nil {
		replicas := max(len(s.Services), s.Processes, 1)
		cp.Streaming = &PodGroup{Replicas: replicas, Processes: 1, Threads: s.Pool,
			Resources: resources(est.StreamingProcess, streamingCPU), Connections: s.Pool}
		cp.Streaming.Surge = surgePods(replicas, c.StreamingSurge, c.SurgeTasks)
	}
	cp.shareCPU()
	cc := &cp.Connections
	for _, w := range cp.Workers {
		cc.Pods += w.Connections * w.Replicas
	}
	for _, g := range []*PodGroup{cp.Web, cp.Streaming} {
		if g != nil {
			cc.Pods += g.Connections * g.Replicas
			cc.Surge += g.Connections * g.Surge
		}
	}
	cc.Migrations = migrationPool * f
	cc.Total = cc.Pods + cc.Surge + cc.Migrations
	cc.MaxConnections = p.Postgres.MaxConnections
	cc.Limit = SafeLimit(cc.MaxConnections)
	if b := p.PgBouncer; b != nil && p.GenBouncer != nil {
		// The one-machine plan's server pool, shared out over the
		// replicas: Postgres holds the same.
		n := c.PoolerReplicas
		if n < 1 {
			n = min(c.Nodes, 2)
		}
		pool := max(b.ServerPool/n-b.Reserve, 1)
		cp.Pooler = &PoolerPlan{Replicas: n, PoolSize: pool, Reserve: b.Reserve, Clients: cc.Pods + cc.Surge,
			MaxClientConn: ((cc.Pods+cc.Surge)*10/9 + 50) / 50 * 50}
		cc.Servers = n * (pool + b.Reserve)
		cc.Total = cc.Servers + cc.Migrations
	}
	return cp
}

// shareCPU scales the CPU requests down, where they ask for more than 80%
// of the nodes' allocatable CPU together, to that share (50m at least; the
// rest leaves room to pack pods of two sizes onto nodes and for a rolling
// update's surge pods):
// the sizing packs as many processes as memory and CPUs allow, and a
// request the nodes cannot grant leaves a pod pending.
func (cp *ClusterPlan) shareCPU() {
	total := 0
	for _, w := range cp.Workers {
		total += w.Resources.CPURequest * w.Replicas
	}
	for _, g := range []*PodGroup{cp.Web, cp.Streaming} {
		if g != nil {
			total += g.Resources.CPURequest * g.Replicas
		}
	}
	have := cp.AllocatableCPU * sizedNodes(cp.Cluster.Nodes) * 8 / 10
	if total <= have || total == 0 {
		return
	}
	scale := func(r *Resources) { r.CPURequest = max(50, r.CPURequest*have/total/10*10) }
	for i := range cp.Workers {
		scale(&cp.Workers[i].Resources)
	}
	for _, g := range []*PodGroup{cp.Web, cp.Streaming} {
		if g != nil {
			scale(&g.Resources)
		}
	}
}

// withoutFlagNotes drops the notes about --pgbouncer and --cache-redis,
// which a cluster plan sets itself, and about what a chart does not
// have: the compose file's healthchecks and shm_size.
func withoutFlagNotes(notes []string) []string {
	var out []string
	for _, n := range notes {
		if !strings.Contains(n, "--pgbouncer") && !strings.Contains(n, "--cache-redis") && !strings.Contains(n, "healthcheck") && !strings.Contains(n, "shm_size") {
			out = append(out, n)
		}
	}
	return out
}

func resources(mem int64, cpu int) Resources {
	return Resources{MemoryRequest: mem, MemoryLimit: int64(float64(mem) * memoryLimitFactor), CPURequest: cpu}
}

// surgePods is maxSurge of replicas, rounded up as Kubernetes rounds it.
func surgePods(replicas int, share float64, tasks int) int {
	if tasks > 0 {
		return min(tasks, replicas)
	}
	if share <= 0 {
		return 0
	}
	return int(math.Ceil(float64(replicas) * share))
}

type pod struct {
	name string
	res  Resources
}

// pods lists every replica, largest memory request first.
func (cp *ClusterPlan) pods() []pod {
	var out []pod
	for _, w := range cp.Workers {
		for i := 0; i < w.Replicas; i++ {
			out = append(out, pod{w.Name, w.Resources})
		}
	}
	for name, g := range map[string]*PodGroup{"web": cp.Web, "streaming": cp.Streaming} {
		if g != nil {
			for i := 0; i < g.Replicas; i++ {
				out = append(out, pod{name, g.Resources})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].res.MemoryRequest != out[j].res.MemoryRequest {
			return out[i].res.MemoryRequest > out[j].res.MemoryRequest
		}
		return out[i].name < out[j].name
	})
	return out
}

// firstFit packs pods onto n nodes, each of the allocatable size, the
// largest first onto the least loaded node that holds it; ok is false
// when one does not fit anywhere.
func firstFit(pods []pod, n int, memory int64, cpuMilli int) ([]NodeLoad, bool) {
	nodes := make([]NodeLoad, n)
	ok := true
	for _, p := range pods {
		best := -1
		for i := range nodes {
			if nodes[i].MemoryRequest+p.res.MemoryRequest > memory || nodes[i].CPURequest+p.res.CPURequest > cpuMilli {
				continue
			}
			if best < 0 || nodes[i].MemoryRequest < nodes[best].MemoryRequest {
				best = i
			}
		}
		if best < 0 {
			ok = false
			continue
		}
		nodes[best].Pods = append(nodes[best].Pods, p.name)
		nodes[best].MemoryRequest += p.res.MemoryRequest
		nodes[best].CPURequest += p.res.CPURequest
	}
	return nodes, ok
}

func (cp *ClusterPlan) pack() {
	pods := cp.pods()
	var ok bool
	cp.Packing, ok = firstFit(pods, cp.Cluster.Nodes, cp.AllocatableMemory, cp.AllocatableCPU)
	if !ok {
		cp.Warnings = append(cp.Warnings, fmt.Sprintf("the pods' requests do not all fit on %d nodes of %s and %dm CPU allocatable: add a node, or use bigger ones", cp.Cluster.Nodes, FormatBytes(cp.AllocatableMemory), cp.AllocatableCPU))
	}
	cp.FitsDrained = true
	if cp.Cluster.Nodes > 1 {
		_, cp.FitsDrained = firstFit(pods, cp.Cluster.Nodes-1, cp.AllocatableMemory, cp.AllocatableCPU)
		if !cp.FitsDrained {
			cp.Warnings = append(cp.Warnings, fmt.Sprintf("with one of the %d nodes drained the pods no longer fit: a node upgrade leaves some pending; plan one node more", cp.Cluster.Nodes))
		}
	}
}

// check holds the plan to what a cluster needs beyond one machine.
func (cp *ClusterPlan) check() {
	cc := cp.Connections
	if pl := cp.Pooler; pl != nil {
		cp.Notes = append(cp.Notes, fmt.Sprintf("PgBouncer in transaction mode, %d replicas: each opens %d + %d reserve to Postgres (%d in all), and takes up to %d clients (the pods' %d pools, a rolling update's included); migrations run on the direct connection, past it (session advisory locks)", pl.Replicas, pl.PoolSize, pl.Reserve, cc.Servers, pl.MaxClientConn, pl.Clients))
	}
	if n := cp.Cluster.Nodes; n > 1 {
		cp.Notes = append(cp.Notes, fmt.Sprintf("the pods are sized for %d of the %d nodes, so that with one drained (an upgrade, a failure) they still fit on the others", sizedNodes(n), n))
	}
	if cc.MaxConnections >= maxPlannedConnections && cp.Cluster.Nodes > 1 && cp.Pooler == nil {
		cp.Notes = append(cp.Notes, fmt.Sprintf("the pools are held within max_connections %d on the one primary, whatever the node count: more nodes add processes, and the threads are shared out among them; past this a pooler in transaction mode is what adds capacity", cc.MaxConnections))
	}
	if cc.Total > cc.Limit {
		cp.Warnings = append(cp.Warnings, fmt.Sprintf("the pods, a rolling update's surge and a migration job open %d connections, above the safe limit %d of max_connections %d", cc.Total, cc.Limit, cc.MaxConnections))
	}
	for _, p := range cp.pods() {
		if p.res.MemoryRequest > cp.AllocatableMemory || p.res.CPURequest > cp.AllocatableCPU {
			cp.Warnings = append(cp.Warnings, fmt.Sprintf("a %s pod asks for %s and %dm, more than a node's %s and %dm allocatable: it can run on no node", p.name, FormatBytes(p.res.MemoryRequest), p.res.CPURequest, FormatBytes(cp.AllocatableMemory), cp.AllocatableCPU))
			break
		}
	}
}
