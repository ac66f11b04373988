package planner

import (
	"fmt"
	"strconv"
	"strings"
)

// identity is what a container is known by besides its service name. A
// copy of a service must not share it: docker compose refuses to create a
// second container with one container_name, and a shared hostname makes
// two Sidekiq processes one in Sidekiq's process list.
type identity struct {
	ContainerName, Hostname string // as written
}

func identityOf(s Service) identity { return identity{s.ContainerName, s.Hostname} }

// copyIdentity gives the copy dst of a service with identity id a
// container_name and hostname of its own, derived in the file's style:
// mastodon-sidekiq -> mastodon-sidekiq-mailers, ${PROJECT}-streaming ->
// ${PROJECT}-streaming-2. taken holds the names in use and is updated.
func copyIdentity(id identity, src, dst string, taken map[string]bool) []Change {
	var changes []Change
	for _, f := range []struct{ key, value string }{{"container_name", id.ContainerName}, {"hostname", id.Hostname}} {
		if f.value == "" {
			continue
		}
		base := derivedName(f.value, src, dst)
		name := base
		for n := 2; taken[f.key+"="+name]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		taken[f.key+"="+name] = true
		changes = append(changes, Change{Kind: SetField, Service: dst, Key: f.key, Value: name})
	}
	return changes
}

// derivedIdentity is the identity copyIdentity gives a copy dst of a
// service with identity id when the names are free.
func derivedIdentity(id identity, src, dst string) identity {
	var out identity
	if id.ContainerName != "" {
		out.ContainerName = derivedName(id.ContainerName, src, dst)
	}
	if id.Hostname != "" {
		out.Hostname = derivedName(id.Hostname, src, dst)
	}
	return out
}

// derivedName puts copy where name holds the service it was copied from
// (social-worker-default, copied as worker-pull: social-worker-pull), or
// where name ends with what copy starts with (mastodon-sidekiq +
// sidekiq-mailers = mastodon-sidekiq-mailers), else appends it. A re-run,
// copying from the same service, derives the same names.
func derivedName(name, src, copy string) string {
	if cut, ok := strings.CutSuffix(name, src); ok && (cut == "" || strings.ContainsRune("-_.", rune(cut[len(cut)-1]))) {
		return cut + copy
	}
	for i := 0; i < len(name); i++ {
		if i > 0 && !strings.ContainsRune("-_.", rune(name[i-1])) {
			continue
		}
		tail := name[i:]
		if strings.HasPrefix(copy, tail) && (len(copy) == len(tail) || copy[len(tail)] == '-') {
			return name[:i] + copy
		}
	}
	return name + "-" + copy
}

// takenNames are the container names and hostnames the file uses.
func takenNames(services []Service) map[string]bool {
	taken := map[string]bool{}
	for _, s := range services {
		if s.ContainerName != "" {
			taken["container_name="+s.ContainerName] = true
		}
		if s.Hostname != "" {
			taken["hostname="+s.Hostname] = true
		}
	}
	return taken
}

// listensInNamespace reports a network_mode that puts the service in
// another's network namespace (or the host's): copies of a service that
// listens would all bind its port there.
func listensInNamespace(mode string) bool {
	return mode == "host" || strings.HasPrefix(mode, "service:") || strings.HasPrefix(mode, "container:")
}

// replicaChanges handles sidekiq services that run replicas. A layout
// compose-scale plans replaces them: each of its services is one process,
// so the replicas go (before any copy is made, which would inherit them).
// An admin's split keeps them, each replica a process in the budget;
// correct has already split a scheduler listener off a replicated service.
func (p *planning) replicaChanges(existing []existingProcess) []Change {
	var changes []Change
	for _, e := range existing {
		if e.Replicas <= 1 {
			continue
		}
		keep := 1
		for _, pr := range p.Sidekiq {
			if pr.Name == e.Service {
				keep = pr.processes()
			}
		}
		if keep == e.Replicas {
			continue
		}
		changes = append(changes, Change{Kind: SetReplicas, Service: e.Service, Value: strconv.Itoa(keep)})
		p.Notes = append(p.Notes, fmt.Sprintf("%s: %d replicas become %d: %s", e.Service, e.Replicas, keep, replicaWhy(p.Strategy, keep)))
	}
	return changes
}

func replicaWhy(s Strategy, keep int) string {
	if s != HandSplit {
		return "the plan's services replace them, one process each"
	}
	if keep == 1 {
		return "this machine's budget holds one"
	}
	return "what this machine's budget holds"
}

// avoidOtherNames renames a planned sidekiq process whose name another
// service of the file already has (a service that is no sidekiq, or one
// switched off under another plan's name): the clone would clash.
func (p *planning) avoidOtherNames(services []Service) {
	others := map[string]bool{}
	for _, s := range services {
		if RoleOf(s) != RoleSidekiq {
			others[s.Name] = true
		}
	}
	for i := range p.Sidekiq {
		if !others[p.Sidekiq[i].Name] {
			continue
		}
		taken := append([]Process(nil), p.Sidekiq...)
		for name := range others {
			taken = append(taken, Process{Name: name})
		}
		old := p.Sidekiq[i].Name
		p.Sidekiq[i].Name = uniqueName(old, taken)
		p.Notes = append(p.Notes, fmt.Sprintf("%s is the name of another service of the file: the sidekiq process is %s", old, p.Sidekiq[i].Name))
	}
}
