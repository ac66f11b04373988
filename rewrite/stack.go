package rewrite

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// StackResult is a Docker Swarm stack file and what the writer says of it.
type StackResult struct {
	Output          []byte
	Notes, Warnings []string
	// Exports are the variables the file uses that docker stack deploy,
	// which reads no .env, takes only from the shell.
	Exports []string
}

// Role labels: the nodes a service may run on (docker node update
// --label-add mastodon.role=db NODE): Postgres on the database node,
// everything else on the application nodes.
const (
	roleDB  = "node.labels.mastodon.role == db"
	roleApp = "node.labels.mastodon.role == app"
	// Sidekiq runs on any node but the database's: the application
	// nodes, and nodes labelled worker to hold sidekiq alone.
	roleWorker = "node.labels.mastodon.role != db"
)

// swarmDropped are the service keys docker stack deploy ignores or
// rejects: build (it pulls, never builds), restart (deploy.restart_policy
// instead), container_name (a task has its own), shm_size (a tmpfs at
// /dev/shm instead), scale (deploy.replicas).
var swarmDropped = []string{"build", "restart", "container_name", "shm_size", "scale"}

// Stack renders a cluster plan (planner.MakeCluster) as a file for docker
// stack deploy: the compose file with the plan's changes applied, then
// every service given its replicas, resources, restart policy, placement
// by node role and update order, and nothing left that the stack loader
// ignores or rejects.
func Stack(f Files, cp *planner.ClusterPlan) (*StackResult, error) {
	doc, err := compose.Parse(f.Base.Path, f.Base.Text)
	if err != nil {
		return nil, err
	}
	if err := applyAll(doc, cp.Changes); err != nil {
		return nil, err
	}
	// The stack's name is docker stack deploy's argument: a top-level
	// name: is refused.
	if err := doc.RemoveTopKey("name"); err != nil {
		return nil, err
	}
	services, err := doc.Services()
	if err != nil {
		return nil, err
	}
	res := &StackResult{}
	workers := map[string]planner.WorkerPod{}
	for _, w := range cp.Workers {
		workers[w.Name] = w
	}
	for _, s := range services {
		if s.Disabled {
			continue
		}
		if s.Build && s.Image == "" {
			return nil, &compose.Error{Path: f.Base.Path, Line: s.Line, Msg: fmt.Sprintf("%s is built from source, and docker stack deploy never builds: build and push the image, then name it in image:", s.Name)}
		}
		if err := stackService(doc, s, cp, workers, res); err != nil {
			return nil, err
		}
	}
	res.Output = doc.Bytes()
	for _, name := range compose.Names(res.Output) {
		if f.Vars == nil {
			res.Exports = append(res.Exports, name)
			continue
		}
		if src := f.Vars.Source(name); src != "the environment" {
			res.Exports = append(res.Exports, name)
		}
	}
	sort.Strings(res.Exports)
	if len(res.Exports) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("docker stack deploy reads no .env: export %s in the shell that deploys", strings.Join(res.Exports, ", ")))
	}
	res.Notes = append(res.Notes, "label the nodes: docker node update --label-add mastodon.role=db on the database node (Postgres alone), mastodon.role=app on each application node (everything else, Redis included); a node labelled mastodon.role=worker takes sidekiq alone")
	return res, nil
}

// stackService makes one service a Swarm service.
func stackService(doc *compose.Document, s compose.Service, cp *planner.ClusterPlan, workers map[string]planner.WorkerPod, res *StackResult) error {
	for _, key := range swarmDropped {
		if s.Has[key] {
			if err := doc.RemoveKey(s.Name, key); err != nil {
				return err
			}
		}
	}
	if s.Has["depends_on"] {
		// The stack loader refuses the long form; it ignores the order
		// anyway (Swarm starts every service at once).
		if err := doc.SetEntry(s.Name, compose.List("depends_on", s.DependsOn)); err != nil {
			return err
		}
	}
	if s.ShmSize > 0 {
		// A service-level tmpfs is dropped by the stack loader: a
		// tmpfs volume at /dev/shm is not.
		shm := []compose.Entry{compose.Value("type", "tmpfs"), compose.Value("target", "/dev/shm"), compose.Mapping("tmpfs", compose.Value("size", strconv.FormatInt(s.ShmSize, 10)))}
		if err := doc.AppendListItem(s.Name, "volumes", shm...); err != nil {
			return err
		}
	}
	for _, p := range s.Ports {
		if p.HostIP != "" {
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s publishes %s: the routing mesh drops the host address and publishes the port on every node's every address; put the reverse proxy in the stack and drop the port, or firewall it", s.Name, p))
		}
	}
	role := planner.RoleOf(planner.Service{Name: s.Name, Image: s.Image, Command: s.Command})
	replicas, placement, order := 1, roleApp, "stop-first"
	var res1 *planner.Resources
	switch role {
	case planner.RoleSidekiq:
		w, ok := workers[s.Name]
		if !ok {
			return fmt.Errorf("internal error: the plan has no worker %s", s.Name)
		}
		replicas, res1, placement = w.Replicas, &w.Resources, roleWorker
	case planner.RoleWeb:
		if g := cp.Web; g != nil {
			replicas, res1, order = g.Replicas, &g.Resources, "start-first"
			if err := doc.SetEnv(s.Name, "WEB_CONCURRENCY", strconv.Itoa(g.Processes)); err != nil {
				return err
			}
		}
	case planner.RoleStreaming:
		if g := cp.Streaming; g != nil {
			replicas, res1, order = g.Replicas, &g.Resources, "start-first"
		}
	case planner.RoleRedis:
		if c := cp.CacheRedis; c != nil && c.Service == s.Name && c.MemoryBytes > 0 {
			// maxmemory and Redis's own overhead, as the budget counts it.
			res1 = &planner.Resources{MemoryRequest: c.MemoryBytes, MemoryLimit: c.MemoryBytes, CPURequest: 100}
		}
	case planner.RoleDB:
		// Postgres alone on the database node: PGTune gave it all of
		// that node's memory. Redis and search are counted in the
		// application nodes' memory, and run there.
		placement = roleDB
		if cp.Postgres != nil && cp.Postgres.Service == s.Name {
			res1 = &planner.Resources{MemoryRequest: cp.Postgres.MemoryBytes, MemoryLimit: cp.Postgres.MemoryBytes, CPURequest: cp.Postgres.CPUs * 1000}
		}
	}
	deploy := []compose.Entry{compose.IntValue("replicas", replicas)}
	if res1 != nil {
		deploy = append(deploy, compose.Mapping("resources",
			compose.Mapping("limits", compose.Value("memory", memory(res1.MemoryLimit))),
			compose.Mapping("reservations", compose.Value("memory", memory(res1.MemoryRequest)), compose.Quoted("cpus", cpus(res1.CPURequest)))))
	}
	deploy = append(deploy, compose.Mapping("restart_policy", compose.Value("condition", "any"), compose.Value("delay", "5s")))
	place := []compose.Entry{compose.List("constraints", []string{placement})}
	if n := cp.Cluster.Nodes; placement == roleApp && replicas > 1 && n > 1 {
		place = append(place, compose.IntValue("max_replicas_per_node", (replicas+n-1)/n))
	}
	deploy = append(deploy, compose.Mapping("placement", place...))
	// One scheduler at a time: the old task stops before the new one
	// starts; web and streaming start the new one first (the surge the
	// plan counts).
	deploy = append(deploy, compose.Mapping("update_config", compose.IntValue("parallelism", 1), compose.Value("order", order)))
	return doc.SetEntry(s.Name, compose.Mapping("deploy", deploy...))
}

// memory is a size as the stack file writes it: MiB, rounded up.
func memory(b int64) string { return fmt.Sprintf("%dM", (b+planner.MiB-1)/planner.MiB) }

// cpus is millicores as the stack file's decimal CPUs.
func cpus(milli int) string { return strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64) }
