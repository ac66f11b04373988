package rewrite

import (
	"path/filepath"
	"strings"

	"github.com/compose-scale/compose-scale/compose"
	"github.com/compose-scale/compose-scale/planner"
)

// overrideMarker is the first line compose-scale writes inside a service it
// adds to an override file: it owns that service and rewrites it whole.
const overrideMarker = "# " + overrideComment

const overrideComment = "written by compose-scale rewrite --override: replaced on each run"

// managedKeys are the keys of a base file's service that a plan may
// change, and so the ones an override entry of compose-scale's may set.
// Environment and ports are handled apart (merged by variable; a list
// compose appends to).
var managedKeys = []string{"image", "command", "shm_size", "healthcheck", "container_name", "hostname", "scale", "deploy"}

// MergeTagsVersion is the docker compose release that reads the merge
// tags (!override, !reset) an override file of compose-scale's may use.
const MergeTagsVersion = "2.24.4"

// copySource is the base service a copy of compose-scale's was made
// from: the first sidekiq service for a sidekiq copy, the service a
// streaming copy (streaming-2) is numbered after; "" for anything else
// (PgBouncer, the cache Redis), which the plan keeps up to date itself.
func copySource(copy compose.Service, base []compose.Service) string {
	role := planner.RoleOf(planner.Service{Name: copy.Name, Image: copy.Image, Command: copy.Command})
	for _, b := range base {
		bs := planner.Service{Name: b.Name, Image: b.Image, Command: b.Command}
		switch {
		case role == planner.RoleSidekiq && planner.IsSidekiq(b.Command):
			return b.Name
		case role == planner.RoleStreaming && planner.RoleOf(bs) == planner.RoleStreaming && strings.HasPrefix(copy.Name, b.Name+"-"):
			return b.Name
		}
	}
	return ""
}

// recopy is the block of base service src renamed name, with the marker
// and the container_name and hostname of the copy it replaces.
func recopy(base *compose.Document, src, name, old string, keep ...string) string {
	text, ok := base.SelfContainedServiceText(src)
	if !ok {
		return old
	}
	doc, err := compose.ParseService("copy.yml", text)
	if err != nil {
		return old
	}
	if err := doc.RenameService(src, name); err != nil {
		return old
	}
	was, err := compose.ParseService("old.yml", old)
	if err != nil {
		return old
	}
	// What a copy must not share with the service it copies stays as the
	// copy had it: its names, its ports, its replicas.
	if ds, err := doc.Services(); err == nil && len(ds) == 1 && ds[0].Image == "" {
		// A build-only service: the copies share the image name the
		// plan gave them (one build), which the base file never has;
		// it goes where the plan put it, after build.
		if ws, err := was.Services(); err == nil && len(ws) == 1 && ws[0].Image != "" {
			if err := doc.SetKey(name, "image", ws[0].Image); err != nil {
				return old
			}
		}
	}
	for _, key := range append([]string{"container_name", "hostname", "ports", "scale", "deploy"}, keep...) {
		e, had := was.EntryText(name, key)
		var err error
		if had {
			err = doc.SetEntryText(name, key, e)
		} else {
			err = doc.RemoveKey(name, key)
		}
		if err != nil {
			return old
		}
	}
	block, _ := doc.ServiceText(name)
	return compose.WithComment(block, overrideComment)
}

// overrideWriter edits an existing override document, or starts a new
// one: blocks for services it does not have are appended.
type overrideWriter struct {
	path   string
	doc    *compose.Document // the existing override; nil for a new one
	text   string            // a new override's text so far
	append []string          // blocks to add at the end, in order
	tagged bool              // an entry written uses compose's merge tags
}

// service makes a base service's entry in the override hold entries and
// env, and drop removeKeys and envDrop.
func (w *overrideWriter) service(name string, exists bool, entries []compose.Entry, removeKeys []string, env [][2]string, envDrop []string) error {
	for _, e := range entries {
		w.tagged = w.tagged || e.Tagged
	}
	if exists && w.doc != nil {
		for _, e := range entries {
			if err := w.doc.SetEntry(name, e); err != nil {
				return err
			}
		}
		for _, k := range env {
			if err := w.doc.SetEnv(name, k[0], k[1]); err != nil {
				return err
			}
		}
		for _, k := range envDrop {
			if w.emptied(name) {
				break
			}
			if err := w.doc.RemoveEnvKey(name, k); err != nil {
				return err
			}
		}
		for _, k := range removeKeys {
			if w.emptied(name) {
				break
			}
			if w.doc.OnlyKey(name, k) {
				return w.doc.RemoveServiceEntry(name) // nothing of the plan's is left on it
			}
			if err := w.doc.RemoveKey(name, k); err != nil {
				return err
			}
		}
		if w.emptied(name) {
			// Nothing of the plan's is left on it (a pooler turned off):
			// the entry goes, and the base file's service is as it is.
			return w.doc.RemoveServiceEntry(name)
		}
		return nil
	}
	if len(entries) == 0 && len(env) == 0 {
		return nil
	}
	if len(env) > 0 {
		entries = append(entries, compose.EnvList(env))
	}
	w.append = append(w.append, compose.ServiceBlock(name, "", entries...))
	return nil
}

// whole writes a service the override owns whole.
func (w *overrideWriter) whole(name string, exists bool, block string) error {
	if exists && w.doc != nil {
		return w.doc.ReplaceServiceText(name, block)
	}
	w.append = append(w.append, block)
	return nil
}

func (w *overrideWriter) remove(name string) error {
	if w.doc == nil {
		return nil
	}
	return w.doc.RemoveService(name)
}

func (w *overrideWriter) bytes() ([]byte, error) {
	text := w.text
	if w.doc != nil {
		text = string(w.doc.Bytes())
	}
	return []byte(compose.AppendServices(text, w.append, w.doc != nil)), nil
}

func serviceNamed(ss []compose.Service, name string) compose.Service {
	for _, s := range ss {
		if s.Name == name {
			return s
		}
	}
	return compose.Service{}
}

func mergedPorts(ss []compose.Service, name string) []compose.Port {
	return serviceNamed(ss, name).Ports
}

// applyPortEdits makes a service's port changes on its merged list, in
// order (removals come highest index first, so indices hold).
func applyPortEdits(ports []compose.Port, edits []planner.Change) []compose.Port {
	out := append([]compose.Port(nil), ports...)
	for _, c := range edits {
		i := c.Port.Index
		switch {
		case c.Kind == planner.SetPort && i < len(out):
			out[i] = compose.Port(c.Port)
		case c.Kind == planner.RemovePort && i < len(out):
			out = append(out[:i], out[i+1:]...)
		}
	}
	for i := range out {
		out[i].Index = i
	}
	return out
}

func portsEqual(a, b []compose.Port) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

// relativeTo is path as a file beside from refers to it.
func relativeTo(from, path string) string {
	if rel, err := filepath.Rel(filepath.Dir(from), path); err == nil {
		return rel
	}
	return path
}

// hasDeployReplicas reports a base service that sets deploy.replicas.
func hasDeployReplicas(base *compose.Document, name string) bool {
	text, ok := base.EntryText(name, "deploy")
	return ok && strings.Contains(text, "replicas:")
}

func baseHas(base []compose.Service, name string) bool {
	for _, b := range base {
		if b.Name == name {
			return true
		}
	}
	return false
}

// emptied reports a service of the override left with no key.
func (w *overrideWriter) emptied(name string) bool { return w.doc.EmptyService(name) }
