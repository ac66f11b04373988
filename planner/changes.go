package planner

import "strconv"

// ChangeKind is one kind of edit to the compose file, in compose terms: the
// compose package applies them without knowing why.
type ChangeKind int

const (
	Rename      ChangeKind = iota // Service is renamed To
	Clone                         // Service is copied as To, placed after After
	Remove                        // Service is deleted
	SetCommand                    // Service's command becomes Command
	SetEnv                        // Service's own environment gets Key=Value
	SetField                      // Service's scalar key Key becomes Value
	SetPort                       // Service's ports entry Port.Index becomes Port
	RemovePort                    // Service's ports entry Port.Index is deleted
	ReplaceText                   // in Service's Key entry, the text Old becomes Value
	SetReplicas                   // Service's scale (or deploy.replicas) becomes Value; "1" drops scale
	AddService                    // Service is added after After, as New describes it
	RemoveEnv                     // Service's own environment loses Key, when it is Value; what SetEnvKeeping replaced comes back
	// SetEnvKeeping is SetEnv on an entry the admin may have written:
	// its text before is kept in a comment, for RemoveEnv to restore.
	SetEnvKeeping
	// SetFieldKeeping is SetField keeping the admin's text in a comment;
	// RestoreField puts it back.
	SetFieldKeeping
	RestoreField
	CopyEntry // Service's Key entry becomes service From's, as written
	// RemoveField deletes Service's scalar key Key, written by an earlier
	// plan as Value (the shared image name of build-only copies, once
	// no copy is left).
	RemoveField
)

// Change is one edit. Changes are applied in order; names refer to the
// services as they are after the changes before them.
type Change struct {
	Kind    ChangeKind
	Service string
	To      string
	From    string // CopyEntry
	After   string
	Command []string
	Key     string
	Value   string
	Old     string      // ReplaceText: the text to replace, as the value reads
	New     *NewService // AddService
	Port    Port
}

// NewService is a service the plan adds, in compose terms.
type NewService struct {
	Comment       string
	Extends       string
	ExtendsFile   string
	Profiles      []string
	ContainerName string
	Image         string
	Restart       string
	EnvFiles      []string
	EnvFileOf     string
	Env           [][2]string
	Entrypoint    []string
	Command       []string // an item with newlines is a script
	CommandFlow   bool     // write the command as a one-line list
	Ports         []string
	Networks      []string
	DependsOn     []string
	Healthcheck   []string
}

// sharedImage names the image a build-only sidekiq service and its copies
// share, so that docker compose builds it once and every copy runs it.
const sharedImage = "mastodon-sidekiq:local"

// reconcile turns the existing sidekiq services into the planned ones with
// the fewest edits: a service whose name is planned is updated in place; a
// leftover service is renamed into a leftover planned one (so a stock
// `sidekiq` becomes the first new service and the diff shows a rename, not
// a delete and an add); what is still missing is cloned from the first
// sidekiq service; what is still left over is removed.
func reconcile(existing []existingProcess, planned []Process, taken map[string]bool, disabled []existingProcess) []Change {
	r := &reconciler{planned: planned, taken: taken, current: map[string]existingProcess{}, template: existing[0], templateName: existing[0].Service}
	missing, leftover := r.rename(existing)
	r.sharedImage(len(missing) > 0)
	r.addMissing(missing, disabled)
	for _, e := range leftover {
		r.changes = append(r.changes, Change{Kind: Remove, Service: e.Service})
	}
	r.separateIdentities()
	for _, p := range planned {
		cmd := r.current[p.Name].Cmd
		cmd.Concurrency = p.Concurrency
		cmd.Queues = p.Queues
		r.changes = append(r.changes,
			Change{Kind: SetCommand, Service: p.Name, Command: cmd.Tokens()},
			Change{Kind: SetEnv, Service: p.Name, Key: "DB_POOL", Value: strconv.Itoa(p.Concurrency)})
	}
	return r.changes
}

// reconciler is one reconcile: the services by the name each has after
// the changes so far (current), and the first sidekiq service, which
// copies are made from, by its name after them (templateName).
type reconciler struct {
	planned      []Process
	taken        map[string]bool
	current      map[string]existingProcess
	template     existingProcess
	templateName string
	changes      []Change
}

// rename keeps the services whose name is planned, renames leftovers into
// the planned names nothing has yet, and returns what is still missing
// and what is still left over.
func (r *reconciler) rename(existing []existingProcess) (missing []Process, leftover []existingProcess) {
	plannedNames := map[string]bool{}
	for _, p := range r.planned {
		plannedNames[p.Name] = true
	}
	for _, e := range existing {
		if plannedNames[e.Service] {
			r.current[e.Service] = e
		} else {
			leftover = append(leftover, e)
		}
	}
	for _, p := range r.planned {
		if _, ok := r.current[p.Name]; ok {
			continue
		}
		if len(leftover) == 0 {
			missing = append(missing, p)
			continue
		}
		e := leftover[0]
		leftover = leftover[1:]
		r.changes = append(r.changes, Change{Kind: Rename, Service: e.Service, To: p.Name})
		if e.Service == r.templateName {
			r.templateName = p.Name
		} else if e.ID != (identity{}) && e.ID == derivedIdentity(r.template.ID, r.template.Service, e.Service) {
			// Its container_name and hostname were derived from its
			// old name by an earlier plan: derived again from the new
			// one, or a resize leaves the pull-led worker called
			// sidekiq-scheduler-mailers in docker ps.
			r.changes = append(r.changes, copyIdentity(r.template.ID, r.template.Service, p.Name, r.taken)...)
			e.ID = identity{}
		}
		r.current[p.Name] = e
	}
	return missing, leftover
}

// sharedImage names the image a build-only sidekiq service's copies
// share, or drops the name once no copy is left to share the build (the
// file is then what a plan for this size made from the original would
// be).
func (r *reconciler) sharedImage(copies bool) {
	t := r.template
	if copies && t.Build && t.Image == "" {
		// Without an image name each copy would build an image of its own.
		r.changes = append(r.changes, Change{Kind: SetField, Service: r.templateName, Key: "image", Value: sharedImage})
	}
	if len(r.planned) == 1 && !copies && t.Build && t.Image == sharedImage {
		r.changes = append(r.changes, Change{Kind: RemoveField, Service: r.templateName, Key: "image", Value: sharedImage})
	}
}

// addMissing turns a switched-off service back on, or clones the template
// after the planned service before it, so the file reads in plan order.
func (r *reconciler) addMissing(missing []Process, disabled []existingProcess) {
	prev := map[string]string{}
	for i, p := range r.planned {
		if i > 0 {
			prev[p.Name] = r.planned[i-1].Name
		}
	}
	off := map[string]existingProcess{}
	for _, d := range disabled {
		off[d.Service] = d
	}
	t := r.template
	for _, p := range missing {
		if d, ok := off[p.Name]; ok {
			// A service switched off by an earlier plan: on again.
			r.changes = append(r.changes, Change{Kind: SetReplicas, Service: p.Name, Value: "1"})
			r.current[p.Name] = d
			continue
		}
		after := prev[p.Name]
		if after == "" {
			after = r.templateName
		}
		r.changes = append(r.changes, Change{Kind: Clone, Service: r.templateName, To: p.Name, After: after})
		r.changes = append(r.changes, copyIdentity(t.ID, t.Service, p.Name, r.taken)...)
		if t.Replicas > 1 && p.processes() == 1 {
			r.changes = append(r.changes, Change{Kind: SetReplicas, Service: p.Name, Value: "1"})
		}
		r.current[p.Name] = existingProcess{Service: p.Name, Cmd: t.Cmd}
	}
}

// separateIdentities: services of the file that already share a
// container_name or hostname (copied by hand, or by an older
// compose-scale): the first keeps it, the others get their own.
func (r *reconciler) separateIdentities() {
	seen := map[identity]bool{}
	for _, p := range r.planned {
		e := r.current[p.Name] // the copies made above have no identity yet
		if e.ID == (identity{}) {
			continue
		}
		if seen[e.ID] {
			r.changes = append(r.changes, copyIdentity(e.ID, e.Service, p.Name, r.taken)...)
		}
		seen[e.ID] = true
	}
}

// poolChanges sizes web, streaming and Postgres.
func (p *planning) poolChanges() []Change {
	var c []Change
	if w := p.Web; w != nil {
		c = append(c,
			Change{Kind: SetEnv, Service: w.Service, Key: "WEB_CONCURRENCY", Value: strconv.Itoa(w.WebConcurrency)},
			Change{Kind: SetEnv, Service: w.Service, Key: "MAX_THREADS", Value: strconv.Itoa(w.Threads)},
			// DB_POOL in .env.production would otherwise size Puma's pool too.
			Change{Kind: SetEnv, Service: w.Service, Key: "DB_POOL", Value: strconv.Itoa(w.Threads)})
	}
	if s := p.Streaming; s != nil {
		if s.SetsPool {
			for _, name := range append([]string{s.Service}, s.Services[min(1, len(s.Services)):]...) {
				c = append(c, Change{Kind: SetEnv, Service: name, Key: "DB_POOL", Value: strconv.Itoa(s.Pool)})
			}
		}
		if s.SetsCluster {
			c = append(c, Change{Kind: SetEnv, Service: s.Service, Key: "STREAMING_CLUSTER_NUM", Value: strconv.Itoa(s.Processes)})
		}
	}
	if pg := p.Postgres; pg != nil && pg.Service != "" {
		c = append(c, Change{Kind: SetCommand, Service: pg.Service, Command: pg.Command})
		switch {
		case pg.SetsShmSize:
			c = append(c, Change{Kind: p.keepField, Service: pg.Service, Key: "shm_size", Value: formatShm(pg.ShmSizeBytes)})
		case pg.RestoresShm:
			c = append(c, Change{Kind: RestoreField, Service: pg.Service, Key: "shm_size"})
		}
	}
	return c
}

// adoptNames lets the planned processes take the names of the file's
// sidekiq services that the plan does not name, so that nothing is
// renamed (an override file cannot rename a service): the original
// service becomes the scheduler process (the small one) first, then the
// other planned processes in order.
func adoptNames(existing []existingProcess, planned []Process) {
	named := map[string]bool{}
	for _, p := range planned {
		named[p.Name] = true
	}
	var free []int // planned processes no existing service has
	for i, p := range planned {
		has := false
		for _, e := range existing {
			has = has || e.Service == p.Name
		}
		if !has {
			free = append(free, i)
		}
	}
	// The scheduler's process first: a stock sidekiq becomes it.
	for i, j := range free {
		if hasQueue(planned[j].Queues, "scheduler") {
			free = append([]int{j}, append(free[:i:i], free[i+1:]...)...)
			break
		}
	}
	for _, e := range existing {
		if named[e.Service] || len(free) == 0 || !e.Fixed {
			continue // compose-scale's own services may be renamed
		}
		planned[free[0]].Name = e.Service
		named[e.Service] = true
		free = free[1:]
	}
}
