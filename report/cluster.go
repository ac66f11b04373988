package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/compose-scale/compose-scale/planner"
)

// WriteCluster renders a cluster plan: the pods, the connections held
// against the one primary, Postgres's settings for its node, and the
// advisory packing onto the nodes.
func WriteCluster(w io.Writer, format string, cp *planner.ClusterPlan, ctx Context) error {
	switch format {
	case "text", "":
		clusterText(w, cp, ctx, false)
		return nil
	case "markdown":
		clusterText(w, cp, ctx, true)
		return nil
	case "json":
		return clusterJSON(w, cp, ctx)
	}
	return fmt.Errorf("unknown report format %q: use one of %s", format, strings.Join(Formats, ", "))
}

func clusterText(w io.Writer, cp *planner.ClusterPlan, ctx Context, md bool) {
	ow := observeWriter{w: w, md: md}
	c := cp.Cluster
	nodes := fmt.Sprintf("%d nodes", c.Nodes)
	if c.Nodes == 1 {
		nodes = "1 node"
	}
	title := fmt.Sprintf("compose-scale export: %s for %s of %s (%s)", ctx.File, nodes, ctx.MachineSource, c.Engine)
	if md {
		title = "### " + title
	}
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "\nMastodon %s (%s); each node %s and %d CPUs, of which pods get %s and %dm (the rest is the node's system reserve)\n",
		cp.Version, cp.VersionSource, planner.FormatBytes(c.Node.MemoryBytes), c.Node.CPUs, planner.FormatBytes(cp.AllocatableMemory), cp.AllocatableCPU)

	fmt.Fprintf(w, "\n%s:\n", ow.heading("pods"))
	rows := [][]string{{"DEPLOYMENT", "REPLICAS", "PROCESSES x THREADS", "QUEUES", "REQUESTS", "MEMORY LIMIT", "CONNECTIONS"}}
	if g := cp.Web; g != nil {
		rows = append(rows, groupRow("web", g, "", ""))
	}
	if g := cp.Streaming; g != nil {
		rows = append(rows, groupRow("streaming", g, "", ""))
	}
	for _, wk := range cp.Workers {
		rows = append(rows, []string{"sidekiq-" + strings.TrimPrefix(wk.Name, "sidekiq-"), fmt.Sprint(wk.Replicas), fmt.Sprintf("1 x %d", wk.Concurrency), queueList(wk.Queues),
			requests(wk.Resources), mb(wk.Resources.MemoryLimit), fmt.Sprintf("%d x %d", wk.Replicas, wk.Connections)})
	}
	ow.table(rows)

	cc := cp.Connections
	fmt.Fprintf(w, "\n%s (one primary, whatever the node count):\n", ow.heading("connections"))
	if pl := cp.Pooler; pl != nil {
		fmt.Fprintf(w, "  pods %d + a rolling update's surge pods %d = %d clients of PgBouncer (%d replicas, max_client_conn %d each)\n", cc.Pods, cc.Surge, pl.Clients, pl.Replicas, pl.MaxClientConn)
		fmt.Fprintf(w, "  PgBouncer's servers %d (%d x (%d + %d reserve)) + a migration job %d on the direct connection = %d, the safe limit is %d (%s) of max_connections %d\n",
			cc.Servers, pl.Replicas, pl.PoolSize, pl.Reserve, cc.Migrations, cc.Total, cc.Limit, planner.LimitRule, cc.MaxConnections)
	} else {
		fmt.Fprintf(w, "  pods %d + a rolling update's surge pods %d + a migration job %d = %d, the safe limit is %d (%s) of max_connections %d\n",
			cc.Pods, cc.Surge, cc.Migrations, cc.Total, cc.Limit, planner.LimitRule, cc.MaxConnections)
	}
	if cp.CacheRedis != nil {
		fmt.Fprintf(w, "\n%s: %s\n", ow.heading("cache redis"), cacheLine(cp.Plan))
	}
	if pg := cp.Postgres; pg != nil && len(pg.Settings) > 0 {
		fmt.Fprintf(w, "\n%s: %s\n", ow.heading("postgres"), tuningLine(cp.Plan))
		for _, s := range pg.Settings {
			fmt.Fprintf(w, "  %s = %s\n", s.Name, s.Value)
		}
	} else {
		fmt.Fprintf(w, "\n%s: a managed database; its provider tunes it\n", ow.heading("postgres"))
	}

	fmt.Fprintf(w, "\n%s (advisory: the scheduler decides):\n", ow.heading("per-node packing"))
	rows = [][]string{{"NODE", "MEMORY REQUESTED", "CPU REQUESTED", "PODS"}}
	for i, n := range cp.Packing {
		rows = append(rows, []string{fmt.Sprint(i + 1), fmt.Sprintf("%s of %s", mb(n.MemoryRequest), mb(cp.AllocatableMemory)), fmt.Sprintf("%dm of %dm", n.CPURequest, cp.AllocatableCPU), strings.Join(n.Pods, ", ")})
	}
	ow.table(rows)
	drained := "yes"
	if !cp.FitsDrained {
		drained = "no"
	}
	fmt.Fprintf(w, "  fits with one node drained: %s\n", drained)
	var notes []string
	if c.Nodes > 1 {
		notes = append(notes, "media: with more than one node, the uploads are shared only through S3 or a volume every node mounts (ReadWriteMany in Kubernetes); a node's own volume or bind mount (a ReadWriteOnce claim) holds each node's uploads apart, or every pod that mounts it on one node")
	}
	if md {
		mdList(w, "Notes", append(notes, cp.Notes...))
		mdList(w, "Warnings", cp.Warnings)
		return
	}
	list(w, "notes", append(notes, cp.Notes...))
	list(w, "warnings", cp.Warnings)
}

func groupRow(name string, g *planner.PodGroup, queues, _ string) []string {
	return []string{name, fmt.Sprintf("%d (+%d in a rolling update)", g.Replicas, g.Surge), fmt.Sprintf("%d x %d", g.Processes, g.Threads), queues,
		requests(g.Resources), mb(g.Resources.MemoryLimit), fmt.Sprintf("%d x %d", g.Replicas, g.Connections)}
}

func requests(r planner.Resources) string {
	return fmt.Sprintf("%s, %dm", mb(r.MemoryRequest), r.CPURequest)
}

type jsonCluster struct {
	File        string              `json:"file"`
	Engine      string              `json:"engine"`
	Version     string              `json:"mastodon_version"`
	Nodes       int                 `json:"nodes"`
	NodeMemory  int64               `json:"node_memory_bytes"`
	NodeCPUs    int                 `json:"node_cpus"`
	Allocatable map[string]int64    `json:"allocatable"`
	Workers     []jsonWorker        `json:"sidekiq_workers"`
	Web         *planner.PodGroup   `json:"web,omitempty"`
	Streaming   *planner.PodGroup   `json:"streaming,omitempty"`
	Connections jsonClusterConns    `json:"connections"`
	Pooler      *planner.PoolerPlan `json:"pgbouncer,omitempty"`
	Postgres    []planner.Setting   `json:"postgres_settings"`
	Packing     []planner.NodeLoad  `json:"packing"`
	FitsDrained bool                `json:"fits_with_one_node_drained"`
	Notes       []string            `json:"notes"`
	Warnings    []string            `json:"warnings"`
}

type jsonWorker struct {
	Name        string            `json:"name"`
	Replicas    int               `json:"replicas"`
	Concurrency int               `json:"concurrency"`
	Queues      []string          `json:"queues"`
	Resources   planner.Resources `json:"resources"`
	Connections int               `json:"connections_per_replica"`
}

type jsonClusterConns struct {
	Pods           int `json:"pods"`
	Surge          int `json:"surge"`
	Migrations     int `json:"migrations"`
	Servers        int `json:"pgbouncer_servers"`
	Total          int `json:"total"`
	Limit          int `json:"limit"`
	MaxConnections int `json:"max_connections"`
}

func clusterJSON(w io.Writer, cp *planner.ClusterPlan, ctx Context) error {
	cc := cp.Connections
	out := jsonCluster{File: ctx.File, Engine: cp.Cluster.Engine, Version: cp.Version.String(), Nodes: cp.Cluster.Nodes,
		NodeMemory: cp.Cluster.Node.MemoryBytes, NodeCPUs: cp.Cluster.Node.CPUs,
		Allocatable: map[string]int64{"memory_bytes": cp.AllocatableMemory, "cpu_millicores": int64(cp.AllocatableCPU)},
		Web:         cp.Web, Streaming: cp.Streaming,
		Connections: jsonClusterConns{cc.Pods, cc.Surge, cc.Migrations, cc.Servers, cc.Total, cc.Limit, cc.MaxConnections},
		Packing:     cp.Packing, FitsDrained: cp.FitsDrained, Pooler: cp.Pooler,
		Notes: append([]string{}, cp.Notes...), Warnings: append([]string{}, cp.Warnings...)}
	if cp.Postgres != nil {
		out.Postgres = cp.Postgres.Settings
	}
	for _, wk := range cp.Workers {
		var qs []string
		for _, q := range wk.Queues {
			qs = append(qs, q.Name)
		}
		out.Workers = append(out.Workers, jsonWorker{wk.Name, wk.Replicas, wk.Concurrency, qs, wk.Resources, wk.Connections})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
