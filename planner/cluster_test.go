package planner

import (
	"strings"
	"testing"
)

func TestNodeReserve(t *testing.T) {
	// GKE's rule worked through: 4 GiB keeps 1 GiB (+100 MiB for the
	// eviction threshold), 8 GiB 1.8 GiB, 16 GiB 2.6 GiB, 32 GiB
	// 3.56 GiB; 1 core 60m, 2 cores 70m, 4 cores 80m, 8 cores 90m.
	for _, tc := range []struct {
		gib, cpus int
		wantMiB   int64
		wantMilli int
	}{
		{4, 1, 1024 + 100, 60},
		{8, 2, 1843 + 100, 70},
		{16, 4, 2662 + 100, 80},
		{32, 8, 3645 + 100, 90},
	} {
		mem, cpu := NodeReserve(Machine{MemoryBytes: int64(tc.gib) * GiB, CPUs: tc.cpus})
		if mem/MiB != tc.wantMiB || cpu != tc.wantMilli {
			t.Errorf("%d GiB, %d CPUs: reserve %d MiB, %dm; want %d MiB, %dm", tc.gib, tc.cpus, mem/MiB, cpu, tc.wantMiB, tc.wantMilli)
		}
	}
}

// A cluster plan keeps the invariants of a one-machine plan (one scheduler,
// every queue listened on) and its own: every pod's pools, the surge of a
// rolling update and a migration job within the primary's safe limit,
// whatever the node count; requests that fit the nodes.
func TestClusterPlan(t *testing.T) {
	for _, nodes := range []int{1, 2, 3, 5, 8} {
		for _, node := range []Machine{{8 * GiB, 4}, {16 * GiB, 8}} {
			c := Cluster{Nodes: nodes, Node: node, DB: &Machine{16 * GiB, 4}, WebSurge: 0.1, StreamingSurge: 0.1}
			v, _ := ParseVersion("v4.6.2")
			cp, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v}, c)
			if err != nil {
				t.Fatalf("%d x %v: %v", nodes, node, err)
			}
			cc := cp.Connections
			if cc.Total > cc.Limit || cc.MaxConnections > maxPlannedConnections {
				t.Errorf("%d nodes of %v: %d connections (pods %d, surge %d, migrations %d) against the safe limit %d of %d", nodes, node, cc.Total, cc.Pods, cc.Surge, cc.Migrations, cc.Limit, cc.MaxConnections)
			}
			if cc.Surge == 0 {
				t.Errorf("%d nodes: no surge counted for web's rolling update", nodes)
			}
			schedulers := 0
			listened := map[string]bool{}
			for _, w := range cp.Workers {
				for _, q := range w.Queues {
					listened[q.Name] = true
					if q.Name == "scheduler" {
						schedulers += w.Replicas
					}
				}
				if w.Resources.MemoryLimit <= w.Resources.MemoryRequest || w.Resources.CPURequest < 50 {
					t.Errorf("%s: resources %+v", w.Name, w.Resources)
				}
			}
			if schedulers != 1 {
				t.Errorf("%d nodes: %d scheduler replicas", nodes, schedulers)
			}
			for _, q := range QueuesFor(cp.Version) {
				if !listened[q.Name] {
					t.Errorf("%d nodes: nothing listens on %s", nodes, q.Name)
				}
			}
			var mem int64
			var cpu int
			for _, n := range cp.Packing {
				if n.MemoryRequest > cp.AllocatableMemory || n.CPURequest > cp.AllocatableCPU {
					t.Errorf("%d nodes: a node is given %d MiB, %dm of %d MiB, %dm", nodes, n.MemoryRequest/MiB, n.CPURequest, cp.AllocatableMemory/MiB, cp.AllocatableCPU)
				}
				mem += n.MemoryRequest
				cpu += n.CPURequest
			}
			if cpu > cp.AllocatableCPU*nodes {
				t.Errorf("%d nodes: CPU requests %dm over %dm", nodes, cpu, cp.AllocatableCPU*nodes)
			}
			if pg := cp.Postgres; pg == nil || pg.MemoryBytes >= 16*GiB || pg.CPUs != 4 {
				t.Errorf("Postgres is not tuned for the database node: %+v", pg)
			}
			if cp.Budget.Memory.PostgresBytes != 0 {
				t.Error("the database node's memory is counted on the application nodes")
			}
		}
	}
}

// More nodes run more processes, and the connections still fit: the total
// is held against the one primary, not multiplied by the nodes (without a
// pooler, the threads are shared out within it).
func TestClusterGrowsWithNodes(t *testing.T) {
	v, _ := ParseVersion("v4.6.2")
	var prev int
	for _, nodes := range []int{1, 3, 5} {
		cp, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v}, Cluster{Nodes: nodes, Node: Machine{8 * GiB, 4}, DB: &Machine{32 * GiB, 8}, WebSurge: 0.1, StreamingSurge: 0.1})
		if err != nil {
			t.Fatal(err)
		}
		procs := 0
		for _, w := range cp.Workers {
			procs += w.Replicas
		}
		if procs < prev {
			t.Errorf("%d nodes run %d sidekiq processes, fewer than %d on one node", nodes, procs, prev)
		}
		if cp.Connections.Total > cp.Connections.Limit {
			t.Errorf("%d nodes: %+v", nodes, cp.Connections)
		}
		if nodes == 1 {
			prev = procs
		}
	}
}

func TestClusterManagedDatabase(t *testing.T) {
	v, _ := ParseVersion("v4.6.2")
	if _, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v}, Cluster{Nodes: 2, Node: Machine{8 * GiB, 4}}); err == nil || !strings.Contains(err.Error(), "max-connections") {
		t.Errorf("no database and no max_connections: %v", err)
	}
	cp, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v}, Cluster{Nodes: 2, Node: Machine{8 * GiB, 4}, MaxConnections: 100, WebSurge: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if cp.Connections.MaxConnections != 100 || cp.Connections.Total > cp.Connections.Limit {
		t.Errorf("managed database: %+v", cp.Connections)
	}
}

// Past 250 connections a PgBouncer goes in front of the primary: its
// replicas together open what the one-machine plan's server pool would,
// and every replica takes every client the pods could open.
func TestClusterPooler(t *testing.T) {
	v, _ := ParseVersion("v4.6.2")
	cp, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v}, Cluster{Nodes: 5, Node: Machine{16 * GiB, 8}, DB: &Machine{32 * GiB, 8}, WebSurge: 0.1, StreamingSurge: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	pl := cp.Pooler
	if pl == nil {
		t.Fatalf("5 nodes of 16 GB, %d connections wanted: no pooler", cp.Connections.Pods)
	}
	cc := cp.Connections
	if pl.Replicas != 2 || cc.Servers != pl.Replicas*(pl.PoolSize+pl.Reserve) || cc.Total != cc.Servers+cc.Migrations || cc.Total > cc.Limit {
		t.Errorf("pooler %+v, connections %+v", pl, cc)
	}
	if pl.MaxClientConn < cc.Pods+cc.Surge || cc.Pods <= maxPlannedConnections {
		t.Errorf("the pooler takes %d clients, the pods open %d (+%d surge)", pl.MaxClientConn, cc.Pods, cc.Surge)
	}
	off, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v}, Cluster{Nodes: 5, Node: Machine{16 * GiB, 8}, DB: &Machine{32 * GiB, 8}, WebSurge: 0.1, Pooler: ToggleOff})
	if err != nil {
		t.Fatal(err)
	}
	if off.Pooler != nil || off.Connections.Total > off.Connections.Limit {
		t.Errorf("--pgbouncer off: pooler %+v, connections %+v", off.Pooler, off.Connections)
	}
}

// A pod bigger than a node is named: it could run nowhere. The nodes hold
// a 7 GB Sidekiq together, one node does not.
func TestClusterPodTooBigForANode(t *testing.T) {
	v, _ := ParseVersion("v4.6.2")
	cp, err := MakeCluster(Input{Services: stock("v4.5.0"), Version: &v, Estimates: Estimates{SidekiqProcess: 7 * GiB}}, Cluster{Nodes: 3, Node: Machine{8 * GiB, 4}, DB: &Machine{8 * GiB, 2}, WebSurge: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range cp.Warnings {
		found = found || strings.Contains(w, "can run on no node")
	}
	if !found {
		t.Errorf("a %d MiB sidekiq pod on nodes of %d MiB: no warning (%v)", cp.Workers[0].Resources.MemoryRequest/MiB, cp.AllocatableMemory/MiB, cp.Warnings)
	}
}
