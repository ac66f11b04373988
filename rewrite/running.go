package rewrite

import (
	"strconv"

	"github.com/compose-scale/compose-scale/planner"
)

// ReadRunning reads a stack file (or any compose file) as the deployment it
// runs, for check to audit: each sidekiq service's replicas, threads and
// queues, web's tasks, Puma workers (WEB_CONCURRENCY, Mastodon's
// config/puma.rb default 2) and threads (MAX_THREADS, default 5),
// streaming's tasks and pool (DB_POOL, default 10), and the max_connections
// the db service's command sets. A Swarm update with order start-first adds
// one task to web and streaming.
func ReadRunning(f Files) (planner.Running, error) {
	var r planner.Running
	_, services, err := ReadServices(f)
	if err != nil {
		return r, err
	}
	intEnv := func(s planner.Service, key string, def int) int {
		if n, err := strconv.Atoi(s.Env[key]); err == nil {
			return n
		}
		return def
	}
	var images []planner.Service
	for _, s := range services {
		if s.Disabled {
			continue
		}
		tasks := max(s.Replicas, 1)
		switch planner.RoleOf(s) {
		case planner.RoleSidekiq:
			c, err := planner.ParseSidekiqCommand(s.Command)
			if err != nil {
				return r, err
			}
			threads := c.Concurrency
			if threads == 0 {
				threads = intEnv(s, "DB_POOL", 5)
			}
			r.Workers = append(r.Workers, planner.Process{Name: s.Name, Queues: c.Queues, Concurrency: threads, Replicas: tasks})
			images = append(images, s)
		case planner.RoleWeb:
			r.WebPods, r.WebProcesses, r.WebThreads = tasks, max(intEnv(s, "WEB_CONCURRENCY", 2), 1), intEnv(s, "MAX_THREADS", 5)
			r.WebSurge = 1
		case planner.RoleStreaming:
			r.StreamingPods += tasks
			r.StreamingPool = intEnv(s, "DB_POOL", 10)
			r.StreamingSurge = 1
		case planner.RoleDB:
			if c, err := planner.ParsePostgresCommand(s.Command); err == nil {
				if v, ok := c.Get("max_connections"); ok {
					r.MaxConnections, _ = strconv.Atoi(v)
				}
			}
		}
	}
	r.Version = planner.UnknownVersion
	for _, s := range images {
		if v, ok := planner.VersionFromImage(s.Image); ok {
			r.Version = v
			break
		}
	}
	return r, nil
}
