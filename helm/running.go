package helm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-scale/compose-scale/planner"
	"go.yaml.in/yaml/v4"
)

// defaultWorkers is the chart's own sidekiq worker, which a release runs
// when its values give none (charts/mastodon values.yaml).
var defaultWorkers = []any{map[string]any{"name": "all-queues", "replicas": 1, "concurrency": 25,
	"queues": []any{"default,8", "push,6", "ingress,4", "mailers,2", "pull", "scheduler", "fasp"}}}

// ReadRunning reads a release's values (helm get values REL, or the file
// it was installed with) as the deployment the chart makes of them, with
// the chart's defaults where the values say nothing: for check to audit.
func ReadRunning(path string, text []byte, chart Chart) (planner.Running, []string, error) {
	var r planner.Running
	var v map[string]any
	if err := yaml.Unmarshal(text, &v); err != nil {
		return r, nil, fmt.Errorf("%s: not a values file: %v", path, err)
	}
	var notes []string
	tag, _ := dig(v, "image", "tag").(string)
	version, source, _ := PodVersion(chart, nil, tag)
	r.Version = version
	notes = append(notes, "Mastodon "+version.String()+": "+source)
	workers, ok := dig(v, "mastodon", "sidekiq", "workers").([]any)
	if !ok {
		workers = defaultWorkers
		notes = append(notes, "no sidekiq workers in the values: the chart's own all-queues worker")
	}
	for i, w := range workers {
		m, _ := w.(map[string]any)
		p := planner.Process{Name: fmt.Sprint(m["name"]), Replicas: intOf(m["replicas"], 1), Concurrency: intOf(m["concurrency"], 25)}
		if p.Name == "<nil>" {
			p.Name = fmt.Sprintf("worker %d", i+1)
		}
		qs, _ := m["queues"].([]any)
		for _, q := range qs {
			name, weight, _ := strings.Cut(fmt.Sprint(q), ",")
			n, _ := strconv.Atoi(weight)
			p.Queues = append(p.Queues, planner.Queue{Name: strings.TrimSpace(name), Weight: n})
		}
		r.Workers = append(r.Workers, p)
	}
	r.WebPods = intOf(dig(v, "mastodon", "web", "replicas"), 1)
	r.WebProcesses = intOf(dig(v, "mastodon", "web", "workers"), 2)
	r.WebThreads = intOf(dig(v, "mastodon", "web", "maxThreads"), 5)
	r.StreamingPods = intOf(dig(v, "mastodon", "streaming", "replicas"), 1)
	r.StreamingPool = intOf(dig(v, "mastodon", "streaming", "extraEnvVars", "DB_POOL"), 10)
	// The chart's web and streaming roll with maxSurge 10%, rounded up.
	r.WebSurge, r.StreamingSurge = (r.WebPods+9)/10, (r.StreamingPods+9)/10
	return r, notes, nil
}

// intOf reads a number the values may write as a number or a string.
func intOf(v any, def int) int {
	switch x := v.(type) {
	case int:
		return x
	case float64:
		return int(x)
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
			return n
		}
	}
	return def
}
